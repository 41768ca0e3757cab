"""The testbot fixture itself: a line in, the rendered reply out."""

from __future__ import annotations

from core.model import Role
from tests.testbot import BotUnderTest


def test_a_command_is_one_line(testbot: BotUnderTest) -> None:
    testbot.person("ann")
    said = testbot.say("/balance", as_="ann")
    assert said.plain.startswith("⭐ 25 points")
    assert said.keys[0] == "balance.points"
    assert "/rewards" in said.buttons


def test_staff_and_html(testbot: BotUnderTest) -> None:
    testbot.person("sam", Role.STAFF)
    testbot.person("ann")
    said = testbot.say("/award @ann 5 <b>bold</b> & co", as_="sam")
    assert said.plain == "Ann received 5 points for <b>bold</b> & co."
    assert said.html == "Ann received 5 points for &lt;b&gt;bold&lt;/b&gt; &amp; co."
    # Staff cannot award themselves (the example program's guardrails).
    assert testbot.say("/award @sam 5 me", as_="sam").keys == ["error.self_service_refused"]


def test_kudos_is_slacks_own_command(testbot: BotUnderTest) -> None:
    """/kudos is a router command for Slack's slash command only: elsewhere it is unknown,
    and no menu or /help lists it."""
    testbot.person("ann")
    assert testbot.say("/kudos balance", as_="ann").keys == ["unknown_command"]
    assert "kudos" not in testbot.services.router.commands_for(Role.ADMIN)
    assert "help.kudos" not in testbot.say("/help", as_="ann").keys
