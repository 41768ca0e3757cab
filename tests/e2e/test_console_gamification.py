"""`loyalty chat` end to end for the gamification commands: /challenges, /join, /storecode,
/checkin, /leaderboard, /refer, badges on /card and /balance, /settings leaderboard, and the
guardrails on /earn and /award. Scripts are piped into the real console script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import EXAMPLE_PROGRAM
from tests.e2e.console_support import Chat, console_chat


@pytest.fixture
def chat(tmp_path: Path) -> Chat:
    """`loyalty chat` on one SQLite file, with the example program made quicker to complete:
    one visit does "Three visits" and one day "Five days in a row"."""
    program = EXAMPLE_PROGRAM.read_text(encoding="utf-8")
    quick = program.replace('target = 3\nwindow = "weekly"', 'target = 1\nwindow = "weekly"')
    quick = quick.replace("target = 5\ngrace_days = 1", "target = 1\ngrace_days = 1")
    assert quick.count("target = 1\n") == 2
    path = tmp_path / "program.toml"
    path.write_text(quick, encoding="utf-8")
    return console_chat(tmp_path, LOYALTY_PROGRAM=str(path))


def test_challenges_join_storecode_checkin_badges_and_bad_input(chat: Chat) -> None:
    out = chat(
        "/as sam staff", "/as ann", "/start", "/challenges", "/join Spend $30 this month",
        "/join monthly-30", "/join three-visits", "/join juggling", "/join", "/challenges extra",
        "/storecode", "/as sam", "/storecode", "/storecode main-st", "/storecode moon",
        "/as ann", "/checkin", "/checkin ZZZZ", "/checkin ZZZZ moon", "/checkin a b c",
    )  # fmt: skip
    assert "🏁 Your challenges" in out
    assert "☕ Three visits: ░░░░░░░░░░ 0 of 1 — 1 more visit by " in out
    assert "💳 Spend $30 this month: not joined yet — open until " in out
    assert "[Join Spend $30 this month → /join monthly-30]" in out
    assert "🎄 Holiday regular" in out
    assert "✅ You joined 💳 Spend $30 this month." in out
    assert "💳 Spend $30 this month: ░░░░░░░░░░ $0.00 of $30.00 — spend $30.00 more by " in out
    assert "You're already in 💳 Spend $30 this month." in out
    assert "Everyone takes part in Three visits already — see /challenges." in out
    assert "I don't know the challenge “juggling”. See /challenges." in out
    assert "Usage: /join <challenge>" in out and "Usage: /challenges" in out
    assert "Only staff can do that." in out
    assert "Today's store codes (they change at midnight):" in out
    code = re.search(r"Today's code for Main St is (\w{4})\. It changes at midnight\.", out)
    assert code is not None
    assert re.search(r"Harbour: \w{4}", out)
    assert "There is no store “moon”. Stores: main-st, harbour." in out
    assert "Usage: /checkin <store code> [store]" in out
    assert out.count("“ZZZZ” is not today's code.") == 1
    assert "Usage: /checkin" in out.split("There is no store “moon”")[-1]

    out = chat("/as ann", f"/checkin {code.group(1).lower()}", f"/checkin {code.group(1)}",
               "/challenges", "/balance", "/card")  # fmt: skip
    assert "✅ Checked in at Main St." in out
    assert "☕ Three visits: done! +50 points earned 🎉" in out
    assert "🔥 Streak: 1 day." in out
    assert "🔥 Five days in a row: done! +30 points and the 🔥 On fire badge 🎉" in out
    assert "You already checked in at Main St today. Come back tomorrow to keep your streak." in out
    assert "✅ ☕ Three visits — done, +50 points earned" in out
    assert "✅ 🔥 Five days in a row — done, badge earned 🔥" in out
    assert "🔥 Streak: 1 day — you visited today; come back tomorrow" in out
    assert out.count("🏅 Badges: 🔥 On fire") == 3  # /challenges, /balance and /card
    assert "⭐ 105 points" in out  # 25 welcome + 50 + 30


def test_leaderboard_settings_refer_and_a_paid_referral(chat: Chat) -> None:
    out = chat(
        "/as sam staff", "/as ann", "/start", "/refer", "/refer now", "/leaderboard",
        "/settings leaderboard off", "/leaderboard", "/leaderboard three-visits",
        "/leaderboard juggling", "/settings leaderboard maybe",
    )  # fmt: skip
    invite = re.search(r"your code (ref-\w+): they send /start ref-\w+ to join\.", out)
    assert invite is not None
    assert "When a friend makes a first purchase of $10.00 or more, you both get 100 points." in out
    assert "Up to 5 friends a month earn you points." in out
    assert "Usage: /refer" in out
    assert "🏆 Most points earned this month:" in out
    assert "1. Ann — 25" in out and "You: #1 with 25." in out
    assert "🙈 Leaderboard: hidden from others (you still see your own rank)" in out
    assert "[Show me on the leaderboard → /settings leaderboard on]" in out
    assert "Nobody is on the board yet — be the first!" in out
    assert "🙈 You're hidden from others (/settings leaderboard on to show). Your rank: #1" in out
    assert "🏆 ☕ Three visits — furthest along:" in out
    assert "I don't know the challenge “juggling”." in out
    assert "/settings leaderboard <on|off>" in out  # the usage line

    out = chat(
        "/as bea", f"/start {invite.group(1)}", "/as sam", "/earn @bea 12.00 R-1",
        "/award @bea review R-1", "/award @bea review R-1", "/award @bea review R-2",
        "/award @sam 10 thanks", "/as ann", "/balance", "/refer",
    )  # fmt: skip
    assert "You joined through Ann's invitation." in out
    assert "Bea earned 12 points" in out
    assert "Bea received 50 points for R-1." in out
    assert "“review” was already awarded to this member for R-1. Nothing changed." in out
    assert "“review” is awarded once per purchase" in out
    assert "You can't record purchases or award points to yourself" in out
    assert "⏳ +100 pending until" in out
    assert "So far 1 joined: 1 rewarded (100 points for you), 0 waiting for a first purchase." in (
        out
    )
