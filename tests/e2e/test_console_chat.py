"""`loyalty chat` end to end: a script piped into the real console script, replies asserted."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.console_support import LOYALTY, Chat, console_chat


@pytest.fixture
def chat(tmp_path: Path) -> Chat:
    """Run `loyalty chat` on one SQLite file; each call pipes a script and returns stdout."""
    return console_chat(tmp_path)


def test_join_earn_balance_redeem_refund_and_bad_input(chat: Chat) -> None:
    out = chat(
        "/as sam staff",
        "/as ann",
        "/start",
        "/as sam",
        "/earn @ann 12.40 R-1",
        "/earn @ann 12.40 R-1",
        "/earn @ann 99 R-1",
        "/award @ann 200 great review",
        "/as ann",
        "/earn @ann 100 R-2",
        "/balance",
        "/redeem lattee",
        "/redeem cookie",
    )
    assert "You are now Sam (staff)." in out
    assert "Welcome to Acme Coffee Rewards, Ann!" in out
    assert "25 welcome points are already yours" in out
    assert "Ann earned 12 points for R-1 ($12.40) as a Green member." in out
    assert "R-1 was already recorded on" in out and "Nothing changed." in out
    assert "R-1 was already recorded differently" in out and "earn:R-1" not in out
    assert "Ann received 200 points for great review." in out
    assert "Only staff can do that." in out
    assert "⭐ 225 points" in out
    assert "⏳ +12 pending until" in out
    assert "Did you mean Free latte (400)?" in out
    assert "Redeem Cookie for 150 points? You'll have 75 left." in out
    nonce = re.search(r"/confirm cookie (\S+)\]", out)
    assert nonce is not None

    out = chat(
        "/as ann",
        f"/confirm cookie {nonce.group(1)}",
        f"/confirm cookie {nonce.group(1)}",
        "/balance",
        "/as sam",
        "/refund R-1",
        "/refund R-1",
        "/earn",
        "/earn @ann twelve",
        "/refund",
        "/lookup @nobody",
        "/frobnicate",
        "hello there",
    )
    vouchers = re.findall(r"Voucher (COO-[0-9A-Z]{4}-[0-9A-Z]{4})", out)
    assert len(vouchers) == 2 and vouchers[0] == vouchers[1]
    assert "This was already confirmed: same voucher, nothing spent twice." in out
    assert "⭐ 75 points" in out
    assert "Refunded R-1 ($12.40): 12 points taken back from Ann." in out
    assert "Of these, 12 points were still pending." in out
    assert "Receipt R-1 is already fully refunded. Nothing changed." in out
    assert out.count("Usage: /earn <member code or @name> <amount> [receipt]") == 1
    assert "I can't read “twelve” as an amount. Write it like 12.40, in USD" in out
    assert "Usage: /refund <receipt> [amount]" in out
    assert "I can't find a member “@nobody”." in out
    assert "I don't know /frobnicate." in out
    assert "I understand commands like /balance" in out


def test_settings_change_language_and_notifications(chat: Chat) -> None:
    out = chat(
        "/as ann",
        "/start",
        "/settings",
        "/settings language tr",
        "/balance",
        "/settings notifications off",
        "/settings zone istanbul",
        "/settings quiet 22-7",
        "/settings zone mars",
        "/settings language klingon",
    )
    assert "Language: English" in out
    assert "Time zone: America/New_York (the program's) — " in out
    assert "🌙 Quiet hours 21:00–09:00: offers wait until they end." in out
    assert "🔔 Promotions: on" in out
    assert "Receipts of your points, redemptions and vouchers always reach you." in out
    assert "[Türkçe → /settings language tr]" in out
    assert "[Promotions: turn off → /settings broadcast off]" in out
    assert "Dil: Türkçe" in out
    assert "⭐ 25 puan" in out
    assert "🔕 Kampanyalar: kapalı" in out  # the former single switch: every marketing category
    assert "[Kampanyalar: aç → /settings broadcast on]" in out
    assert "🕘 Saat dilimi: Europe/Istanbul — orada saat şu an" in out
    assert "[America/New_York kullan → /settings zone default]" in out
    assert "🌙 Sessiz saatler 22:00–07:00" in out
    assert "“mars” saat dilimini tanımıyorum." in out
    assert "Kullanım: /settings" in out


def test_tier_multiplier_progress_and_perks(chat: Chat) -> None:
    out = chat(
        "/as sam staff",
        "/as ann",
        "/start",
        "/as sam",
        "/earn @ann 200 R-1",
        "/earn @ann 20 R-2",
        "/earn @sam 20 R-3",
        "/as ann",
        "/balance",
    )
    assert "Ann earned 200 points for R-1 ($200.00) as a Green member." in out
    assert "Ann earned 25 points for R-2 ($20.00) as a Silver member." in out
    assert "Silver members earn 1.25 times the points." in out
    assert out.count("times the points") == 1  # Green's ×1 is not worth a line
    # Staff cannot record their own purchases (the program's guardrails).
    assert "You can't record purchases or award points to yourself" in out
    assert "⏳ +225 pending until" in out
    assert "Silver · ✅ kept: you've spent $220.00 of the $150.00 it takes by " in out
    assert "⬆️ ▓▓▓▓░░░░░░ 44% to Gold: spend $280.00 more" in out
    assert "✨ Silver perks: Free extra shot" in out


def test_a_second_session_never_replays_the_first(chat: Chat) -> None:
    first = chat(
        "/as sam staff", "/as ann", "/start", "/as sam", "/award @ann 10 tidy", "/earn @ann 5"
    )
    second = chat("/as sam", "/award @ann 10 tidy", "/earn @ann 5", "/as ann", "/balance")
    for out in (first, second):
        assert "Ann received 10 points for tidy." in out
        assert "Ann earned 5 points for CHAT-CONSOLE:" in out
        assert "already recorded" not in out
    assert "⭐ 45 points" in second  # 25 to join, 10 twice
    assert "⏳ +10 pending until" in second


def test_piped_scripts_read_as_transcripts(chat: Chat, tmp_path: Path) -> None:
    out = chat("\ufeff/as ann", "/start", "/as ''", "/as " + "a" * 40, "/as " + "a" * 10_000,
               "/as ann\x00x")  # fmt: skip
    lines = out.splitlines()
    assert lines[1] == "You> /as ann"  # the byte-order mark is gone; each line is echoed
    assert lines[2] == "You are now Ann (not a member yet: send /start to join)."
    assert "Ann> /start" in lines
    assert out.count("Usage: /as <name> [member|staff|admin]") == 2
    assert "That message is too long for me: at most 4,096 characters." in out
    assert "That message has a control character (such as NUL)" in out
    assert "a" * 300 not in out  # the echo is cut short


def test_a_line_that_is_not_utf8_is_answered_not_a_crash(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'loyalty.db'}"}
    script = b"/as ann\n/start\n/balance \xff\xfe\n/balance\n"
    done = subprocess.run([str(LOYALTY), "chat"], input=script, capture_output=True, env=env,
                          cwd=tmp_path, timeout=60, check=False)  # fmt: skip
    out = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert "I couldn't read that message: it isn't valid text." in out
    assert "⭐ 25 points" in out


def test_a_read_only_database_is_answered_and_logged_to_a_file(chat: Chat, tmp_path: Path) -> None:
    chat("/as ann", "/start")
    read_only = f"sqlite:///file:{tmp_path / 'loyalty.db'}?mode=ro&uri=true"
    env = {**os.environ, "DATABASE_URL": read_only}
    done = subprocess.run([str(LOYALTY), "chat"], input="/as ann\n/balance\n/settings zone UTC\n",
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "⭐ 25 points" in done.stdout  # reading still works
    assert "I can't reach the points database right now. Nothing was changed" in done.stdout
    assert "(What went wrong is written to loyalty-files/console.log.)" in done.stdout
    # The terminal is the chat: no traceback and no log line between its replies.
    assert "Traceback" not in done.stdout + done.stderr
    assert "ERROR" not in done.stdout + done.stderr
    log = (tmp_path / "loyalty-files" / "console.log").read_text()
    assert "command /settings: the database is read-only" in log
