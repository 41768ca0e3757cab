"""The program report against a small history computed by hand, on SQLite and PostgreSQL.

The history (the coffee program: 1 point per $1, a point is worth $0.05, 25 welcome points,
purchase points pending 14 days, lots expire after 365 days):

- Sam (staff), Ann and Bea join: 3 x 25 welcome points, available.
- Sam records Ann's $12.40 purchase R-1: 12 points, pending.
- Sam awards Ann 200 points.
- Ann redeems a cookie (150 points, first-expiring first: her 25 welcome points, then 125 of
  the 200); Sam uses the voucher at the counter.

So: issued 75 + 12 + 200 = 287; redeemed 150; members hold 125 available + 12 pending = 137
points, worth $6.85; redemption rate 150/287 = 0.5226; effective reward rate 12 x $0.05 / $12.40
= 0.0484; saved since joining 150 x $0.05 = $7.50 by one member.

A year later the 137 points expire: breakage over the whole time 137/287 = 0.4774, and the
liability is 0.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from bot.report_views import report_csv, report_json, report_text
from core.model import Role
from tests.testbot import BotUnderTest


def _history(testbot: BotUnderTest) -> str:
    """Play the history; the voucher's code."""
    testbot.person("sam", Role.STAFF)
    testbot.person("ann")
    testbot.person("bea")
    assert "12 points" in testbot.say("/earn @ann 12.40 R-1", as_="sam").plain
    assert "200 points" in testbot.say("/award @ann 200 great review", as_="sam").plain
    asked = testbot.say("/redeem cookie", as_="ann")
    confirm = next(b for b in asked.buttons if b.startswith("/confirm "))
    testbot.say(confirm, as_="ann")
    vouchers = testbot.services.loyalty.vouchers(testbot.member("ann").id)
    assert len(vouchers) == 1
    code = vouchers[0].voucher
    assert testbot.say(f"/use {code}", as_="sam").keys[0].startswith("use.")
    return code


def test_report_figures_match_the_hand_computed_history(testbot: BotUnderTest) -> None:
    _history(testbot)
    reports = testbot.services.reports
    assert reports is not None
    report = json.loads(report_json(reports.for_text("month")))

    assert report["liability_points"] == 137
    assert report["liability_value"] == "6.85"
    assert report["expiring_points"] == {"30": 0, "60": 0, "90": 0}
    assert report["breakage_rate"] == "0.0000"
    assert report["redemption_rate"] == "0.5226"
    assert report["active_members"] == 1  # Ann made the only purchase
    assert report["new_members"] == 3
    sections = report["sections"]
    assert sections["liability"]["available_points"] == 125
    assert sections["liability"]["pending_points"] == 12
    assert sections["liability"]["opening_points"] == 0
    assert sections["liability"]["closing_points"] == 137
    assert sections["liability"]["movement_by_kind"] == {
        "award": 275,  # 3 welcome awards and Sam's 200
        "earn": 12,
        "redeem": -150,
    }
    assert sections["breakage"]["issued_points"] == 287
    redemption = sections["redemption"]
    assert redemption["top_rewards"] == [{"reward": "cookie", "redemptions": 1, "points": 150}]
    assert (redemption["vouchers_issued"], redemption["vouchers_used"]) == (1, 1)
    assert sections["reward_rate"]["effective_reward_rate"] == "0.0484"
    assert sections["reward_rate"]["spend"] == "12.40"
    assert sections["reward_rate"]["saved_since_joining"] == "7.50"
    assert sections["reward_rate"]["savers"] == 1
    assert sum(sections["daily"]["days"][-1][k] for k in ("issued",)) == 287
    messages = sections["messages"]["by_category"]
    assert set(messages) == {"transactional"} and messages["transactional"]["queued"] >= 1


def test_a_period_before_the_history_is_empty_and_later_expiry_is_breakage(
    testbot: BotUnderTest,
) -> None:
    _history(testbot)
    reports = testbot.services.reports
    assert reports is not None
    before = json.loads(report_json(reports.for_text("2026-10")))
    assert before["breakage_rate"] is None and before["redemption_rate"] is None
    assert before["new_members"] == 0 and before["liability_points"] == 137

    testbot.clock.advance(days=350)  # the lots expire on 22 Nov 2027, within 30 days
    testbot.services.loyalty.release_due()
    soon = json.loads(report_json(reports.for_text("week")))
    assert soon["expiring_points"] == {"30": 137, "60": 137, "90": 137}

    testbot.clock.advance(days=17)
    assert testbot.services.loyalty.expire_due().points == 137
    whole = json.loads(report_json(reports.for_text("2026-11-01..2027-11-30")))
    assert whole["liability_points"] == 0 and whole["liability_value"] == "0.00"
    assert whole["breakage_rate"] == "0.4774"  # 137 / 287
    assert whole["redemption_rate"] == "0.5226"
    assert whole["sections"]["liability"]["movement_by_kind"]["expire"] == -137


def test_report_csv_lists_the_json_figures(testbot: BotUnderTest) -> None:
    _history(testbot)
    reports = testbot.services.reports
    assert reports is not None
    rows = list(csv.DictReader(io.StringIO(report_csv(reports.for_text("month")))))
    figures = {(row["section"], row["figure"]): row["value"] for row in rows}
    assert figures[("liability", "liability_value")] == "6.85"
    assert figures[("expiry", "expiring_points.30")] == "0"
    assert figures[("redemption", "top_rewards.0.reward")] == "cookie"


def test_report_in_chat_is_for_staff_with_three_charts(testbot: BotUnderTest) -> None:
    _history(testbot)
    assert testbot.say("/report", as_="ann").keys == ["denied.staff"]
    assert testbot.say("/report someday", as_="sam").keys == ["error.report_period"]
    assert testbot.say("/report 2026-13", as_="sam").keys == ["error.report_period"]
    said = testbot.say("/report month", as_="sam")
    assert "Outstanding points: 137, worth $6.85" in said.plain
    assert "Redemption rate: 52.3% (redeemed: 150)" in said.plain
    charts = said.reply.attachments
    assert [c.filename for c in charts] == [
        "report-flows.png",
        "report-expiring.png",
        "report-rewards.png",
    ]
    drawn = {chart.filename: _bar_pixels(chart.data) for chart in charts}
    # Ann's day has issued (green) and redeemed (blue) bars; the cookie's bar is blue; nothing
    # expires within 90 days, so that chart has axes, title and labels but no bar.
    assert drawn["report-flows.png"][ISSUED] > 200 and drawn["report-flows.png"][REDEEMED] > 100
    assert drawn["report-rewards.png"][REDEEMED] > 5000
    assert drawn["report-expiring.png"] == {ISSUED: 0, REDEEMED: 0, EXPIRED: 0}


ISSUED, REDEEMED, EXPIRED = (0x2E, 0x7D, 0x32), (0x15, 0x65, 0xC0), (0xC6, 0x28, 0x28)


def _bar_pixels(png: bytes) -> dict[tuple[int, int, int], int]:
    """Pixels of each series colour in an 800 x 450 chart that also has dark text (title,
    axis labels) on it."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (800, 450)
    colors = {color: count for count, color in image.getcolors(maxcolors=1 << 20) or []}
    dark = sum(n for c, n in colors.items() if max(c) < 60)
    assert dark > 500  # title, tick labels and axis labels are drawn
    return {series: colors.get(series, 0) for series in (ISSUED, REDEEMED, EXPIRED)}


def test_loyalty_report_prints_json_csv_and_text(testbot: BotUnderTest, migrated_url: str) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    _history(testbot)
    env = {"DATABASE_URL": migrated_url, "LOYALTY_ENV": "development"}
    period = ["--from", "2026-11-01", "--to", "2026-11-30"]
    runner = CliRunner()
    printed = runner.invoke(app, ["report", *period, "--format", "json"], env=env)
    assert printed.exit_code == 0, printed.output
    data = json.loads(printed.output)
    assert (data["liability_points"], data["liability_value"]) == (137, "6.85")
    assert (data["new_members"], data["active_members"]) == (3, 1)
    text = runner.invoke(app, ["report", *period], env=env)
    assert "Outstanding points: 137, worth $6.85" in text.output
    rows = runner.invoke(app, ["report", *period, "--format", "csv"], env=env)
    assert "liability,liability_points,137" in rows.output.splitlines()
    wrong = runner.invoke(app, ["report", "--from", "2026-11-31"], env=env)
    assert wrong.exit_code == 2 and "Cannot read the period" in wrong.output
    backwards = runner.invoke(
        app, ["report", "--from", "2026-11-30", "--to", "2026-11-01"], env=env
    )
    assert backwards.exit_code == 2 and "must run forwards" in backwards.output
    assert runner.invoke(app, ["report", "--format", "xml"], env=env).exit_code == 2


def test_the_report_names_journal_kinds_and_categories_in_the_readers_language(
    testbot: BotUnderTest,
) -> None:
    _history(testbot)
    reports = testbot.services.reports
    assert reports is not None
    report = reports.for_text("month")
    renderer = testbot.services.renderer
    turkish = report_text(report, renderer, "tr").splitlines()
    assert "  ödüller ve hoş geldin puanları: 275" in turkish
    assert "  alışverişler: 12" in turkish
    assert any(line.startswith("  kullanılan ödüller: ") for line in turkish)
    assert any(line.startswith("Hesap mesajları: gönderilen ") for line in turkish)
    english = report_text(report, renderer, "en").splitlines()
    assert "  awards and welcome points: 275" in english
    assert any(line.startswith("Account messages: sent ") for line in english)
    for raw in ("award", "earn", "redeem", "transactional"):  # no raw word in either language
        assert not any(line.strip().startswith(f"{raw}:") for line in turkish + english), raw
    # Scripts still read the words themselves.
    assert set(report.section("liability").data["movement_by_kind"]) == {"award", "earn", "redeem"}


def test_every_journal_kind_has_a_name_in_every_language() -> None:
    from bot.i18n import shipped_catalogs
    from core.model import JournalKind

    catalogs = shipped_catalogs()
    for language in ("en", "tr"):
        missing = [k for k in JournalKind if not catalogs.entry(f"report.kind.{k.value}", language)]
        assert missing == [], language


def test_loyalty_report_starts_without_the_chat_app(migrated_url: str, tmp_path: Path) -> None:
    """Start-up is most of a short report's time: the report imports neither the chat
    platforms, the router and its commands, metrics, images nor Alembic."""
    heavy = ("alembic", "mako", "pygments", "matplotlib", "PIL", "segno", "telegram",
             "slack_sdk", "slack_bolt", "prometheus_client", "starlette", "apscheduler",
             "bot.router", "bot.commands", "bot.outbox.dispatcher")  # fmt: skip
    code = (
        "import runpy, sys\n"
        "sys.argv = ['loyalty', 'report', '--format', 'json']\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit as done:\n    assert not done.code, done.code\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "DATABASE_URL": migrated_url, "LOYALTY_ENV": "development"}
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["liability_points"] == 0
    assert ran.stderr.strip().splitlines()[-1] == "[]"
