"""Where a Slack gift was given is recorded on it, and `/report` shows recognition by team: a
channel by its name (learnt from `/kudos`), by its id when Slack never named it, direct messages
and group DMs as "other" (their names list people: never stored)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.adapters.slack_support import SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    for user, name in (("UALI", "ali"), ("UBEA", "bea"), ("UCAN", "can")):
        fake_slack.add_user(user, name)
    async with running_slack(fake_slack, tmp_path, NOW, admins="slack:UALI") as harness:
        yield harness


async def _kudos(
    bot: SlackHarness, user: str, words: str, reply: str, channel: str, name: str
) -> None:
    url = bot.fake.response_url(reply)
    body = s.slash_command_body(
        "/kudos", words, user_id=user, channel_id=channel, channel_name=name, response_url=url
    )
    assert (await bot.post(body)).status_code == 200
    await bot.replies(reply, 2)


def _gifts(bot: SlackHarness) -> list[tuple[str, int, str | None, str | None]]:
    with bot.services.database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT key, points, channel, channel_name FROM gift ORDER BY journal_id")
        )
        return [(str(r[0]), int(r[1]), r[2], r[3]) for r in rows]


async def test_gifts_record_their_channel_and_the_report_groups_them_by_team(
    bot: SlackHarness,
) -> None:
    await bot.event(s.message_event("C1", "UALI", "+5 <@UBEA> thanks #teamwork"))  # no name
    await bot.ephemerals("UALI", 1)
    await _kudos(bot, "UBEA", "<@UCAN> 4 great review", "k1", "C1", "general")
    await _kudos(bot, "UCAN", "<@UALI> 2 thanks", "k2", "DUCAN", "directmessage")
    await _kudos(bot, "UALI", "<@UCAN> 1 nice", "k3", "G7", "mpdm-ali--bea--can-1")
    await bot.event(s.reaction_added_event("UCAN", "star", "C2", s.new_ts(), "UBEA"))
    await bot.ephemerals("UCAN", 1)
    await bot.event(s.message_event("DUALI", "UALI", "+3 <@UCAN> in private"))
    await bot.ephemerals("UALI", 2)

    gifts = [(points, channel, name) for _, points, channel, name in _gifts(bot)]
    assert gifts == [
        (5, "C1", None),  # a message event carries no channel name
        (4, "C1", "general"),
        (2, None, None),  # a DM: neither id nor name
        (1, None, None),  # a group DM: its name lists people, so nothing is kept
        (3, "C2", None),  # the reaction's item channel
        (3, None, None),
    ]

    reports = bot.services.reports
    assert reports is not None
    teams = await asyncio.to_thread(lambda: reports.for_text("month").summary())
    assert teams["recognition_by_team"] == [
        {"team": "#general", "gifts": 2, "points": 9, "givers": 2, "receivers": 2},
        {"team": "other", "gifts": 3, "points": 6, "givers": 2, "receivers": 2},
        {"team": "C2", "gifts": 1, "points": 3, "givers": 1, "receivers": 1},
    ]

    body = s.slash_command_body("/loyalty", "report month", user_id="UALI",
                                response_url=bot.fake.response_url("report"))  # fmt: skip
    assert (await bot.post(body)).status_code == 200
    # Drawing the charts (matplotlib's first import) is slow on a busy machine: a long deadline.
    (answer, *_) = await bot.fake.wait_for(lambda: bot.fake.responses_to("report"), timeout=60)
    said = str(answer["text"])
    assert "— Recognition by team —" in said
    assert "#general: 2 gifts, total 9 · givers: 2 · receivers: 2" in said
    assert "Direct messages and elsewhere: 3 gifts, total 6" in said
