"""`/kudos` runs through the shared router: its failures are the router's one apology, it is
counted in the command metrics, and its delivery is settled by the gift's own transaction
(so Slack sending it again, or a handling that failed, gives exactly once)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from core.recognition import GiftResult, GiveKudos
from tests.adapters.slack_support import SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
APOLOGY = "Sorry, something went wrong on our side."


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    fake_slack.add_user("UCAN", "can")
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


def counted(bot: SlackHarness, command: str, outcome: str) -> float:
    """How often the router's metrics saw `command` end with `outcome`."""
    registry = bot.services.metrics.registry
    labels = {"command": command, "outcome": outcome}
    return registry.get_sample_value("loyalty_commands_total", labels) or 0.0


def delivery_state(bot: SlackHarness, trigger_id: str) -> str:
    with bot.services.database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT state FROM inbound_delivery WHERE key = :key"),
            {"key": f"slack:{trigger_id}"},
        ).one()
    return str(row.state)


def kudos_body(bot: SlackHarness, text_: str, reply_id: str, trigger_id: str) -> bytes:
    return s.slash_command_body(
        "/kudos", text_, user_id="UALI", response_url=bot.fake.response_url(reply_id),
        trigger_id=trigger_id,
    )  # fmt: skip


async def test_a_kudos_that_fails_unexpectedly_gets_the_apology_and_is_counted(
    bot: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(command: GiveKudos) -> GiftResult:
        raise RuntimeError("the database went away mid-gift")

    monkeypatch.setattr(bot.services.kudos, "give", broken)
    response = await bot.post(kudos_body(bot, "<@UBEA> 5 thanks", "boom", "T-boom"))
    assert response.status_code == 200
    (answer,) = await bot.replies("boom", 1)
    assert answer.startswith(APOLOGY)
    assert "Traceback" not in answer
    assert counted(bot, "kudos", "unexpected") == 1
    # Nothing took effect, so the delivery is not marked handled: it is handled again later.
    assert delivery_state(bot, "T-boom") == "pending"
    assert await bot.available("UBEA") == 0


async def test_kudos_outcomes_are_counted_like_every_command(bot: SlackHarness) -> None:
    await bot.command("UALI", "<@UBEA> 5 thanks", "given")
    await bot.replies("given", 2)
    await bot.command("UALI", "", "usage")
    (usage,) = await bot.replies("usage", 1)
    assert usage.startswith("Usage: /kudos @person")
    await bot.command("UALI", "balance", "balance")
    assert "To give: 45 of 50 left" in (await bot.replies("balance", 1))[0]
    assert counted(bot, "kudos", "ok") == 2
    assert counted(bot, "kudos", "usage") == 1


async def test_a_kudos_slack_sends_again_gives_once(bot: SlackHarness) -> None:
    body = kudos_body(bot, "<@UBEA> <@UCAN> 5 thanks #teamwork", "once", "T-once")
    first = await bot.post(body)
    again = await bot.post(body, retry_num=1, retry_reason="http_timeout")
    assert (first.status_code, again.status_code) == (200, 200)
    public_bea, public_can, private = await bot.replies("once", 3)
    assert "<@UBEA> received 5 points" in public_bea
    assert "<@UCAN> received 5 points" in public_can
    assert "40 of 50" in private
    # The gift's own transaction settled the delivery.
    assert delivery_state(bot, "T-once") == "done"
    await bot.command("UALI", "balance", "sentinel")  # answered after any second handling
    await bot.replies("sentinel", 1)
    assert len(bot.fake.responses_to("once")) == 3
    assert (await bot.available("UBEA"), await bot.available("UCAN")) == (5, 5)


async def test_a_kudos_whose_handling_failed_is_handled_again_once(
    bot: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    kudos = bot.services.kudos
    real_give = kudos.give
    calls: list[str] = []

    def fails_for_can(command: GiveKudos) -> GiftResult:
        calls.append(command.key)
        if command.key.endswith(":UCAN") and len(calls) == 2:
            raise RuntimeError("a worker's connection dropped after the first gift")
        return real_give(command)

    monkeypatch.setattr(kudos, "give", fails_for_can)
    # A task of its own, as a request to a server has: the delivery it handles stays in it.
    body = kudos_body(bot, "<@UBEA> <@UCAN> 4 thanks", "again", "T-again")
    await asyncio.create_task(bot.post(body))
    (apology,) = await bot.replies("again", 1)
    assert apology.startswith(APOLOGY)
    # The first gift committed without settling the delivery: the second is not lost.
    assert (await bot.available("UBEA"), await bot.available("UCAN")) == (4, 0)
    assert delivery_state(bot, "T-again") == "pending"
    bot.clock.current = NOW + bot.services.inbound.lease + timedelta(seconds=1)
    assert await bot.component.take_over() == 1
    await bot.replies("again", 3)  # the apology, then can's announcement and the allowance
    assert delivery_state(bot, "T-again") == "done"
    assert (await bot.available("UBEA"), await bot.available("UCAN")) == (4, 4)
    apology, announced, left = (str(body["text"]) for body in bot.fake.responses_to("again"))
    # bea's gift is a replay of its key now: given once, and never announced twice.
    assert announced.startswith("🙌 <@UCAN> received 4 points from ali")
    assert left.startswith("You have 42 of 50 points left to give this month")
    assert await bot.component.take_over() == 0


async def test_a_kudos_is_acknowledged_kept_while_its_gift_is_still_being_made(
    bot: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acknowledgement goes out as the listener calls `ack()`, before the gift: the
    delivery is kept by then, pending, and its gift settles it afterwards."""
    kudos = bot.services.kudos
    give = kudos.give
    entered, release = threading.Event(), threading.Event()

    def held_back(command: GiveKudos) -> GiftResult:
        entered.set()
        assert release.wait(timeout=60), "the test never let the gift go on"
        return give(command)

    monkeypatch.setattr(kudos, "give", held_back)
    response = await bot.post(kudos_body(bot, "<@UBEA> 5 thanks", "held", "T-held"))
    assert response.status_code == 200
    assert await asyncio.to_thread(entered.wait, 60)
    assert delivery_state(bot, "T-held") == "pending"
    assert bot.fake.responses_to("held") == []
    release.set()
    await bot.replies("held", 2)
    assert await bot.available("UBEA") == 5
    assert delivery_state(bot, "T-held") == "done"
