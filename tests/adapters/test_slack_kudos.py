"""Recognition through the real bolt app, signed requests and the fake Slack Web API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.outbox.dispatcher import Dispatcher
from bot.platforms import platform_components
from bot.slack.app import web_client
from bot.slack.sender import SlackSender
from tests.adapters.slack_support import TOKEN, SlackHarness, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    fake_slack.add_user("UCAN", "can")
    fake_slack.add_user("UDAN", "dan")
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


def announcements(fake: FakeSlackApi) -> list[str]:
    return [str(m["text"]) for m in fake.posted_messages("C1")]


async def test_a_plus_message_gives_to_each_person_mentioned(bot: SlackHarness) -> None:
    await bot.event(
        s.message_event("C1", "UALI", "+5 <@UBEA> <@UCAN> thanks for the demo #teamwork")
    )
    posts = await bot.fake.wait_for(
        lambda: len(announcements(bot.fake)) == 2 and announcements(bot.fake)
    )
    assert posts[0] == "🙌 <@UBEA> received 5 points from ali for #teamwork — “thanks for the demo”"
    (left,) = await bot.ephemerals("UALI", 1)
    assert left == "You have 40 of 50 points left to give this month (resets 1 Dec)."
    assert (await bot.available("UBEA"), await bot.available("UCAN")) == (5, 5)


async def test_announcements_keep_to_one_post_per_second_per_channel(bot: SlackHarness) -> None:
    bot.fake.enforce_channel_rate(per_sec=1)
    await bot.event(s.message_event("C1", "UALI", "+2 <@UBEA> <@UCAN> thanks #teamwork"))
    await bot.fake.wait_for(lambda: len(announcements(bot.fake)) == 2, timeout=10)
    assert bot.fake.too_many_requests == 0


async def test_a_gift_in_a_thread_is_announced_in_that_thread(bot: SlackHarness) -> None:
    await bot.event(s.message_event("C1", "UALI", "+2 <@UBEA> nice", thread_ts="1700.000100"))
    (post,) = await bot.fake.wait_for(lambda: bot.fake.posted_messages("C1"))
    assert post["thread_ts"] == "1700.000100"


async def test_kudos_by_command(bot: SlackHarness) -> None:
    await bot.command("UALI", "<@UBEA> 5 rescued the demo #ownership", "r1")
    public, private = await bot.replies("r1", 2)
    assert "<@UBEA> received 5 points from ali for #ownership" in public
    assert bot.fake.responses_to("r1")[0]["response_type"] == "in_channel"
    assert "45 of 50" in private
    assert await bot.available("UBEA") == 5


async def test_refusals_say_why_and_what_is_left(bot: SlackHarness) -> None:
    await bot.command("UALI", "<@UALI> 5 me", "self")
    assert (await bot.replies("self", 1))[0].startswith("You can't give points to yourself")
    await bot.command("UALI", "<@UBOT> 5 good bot", "bot")
    assert "is a bot" in (await bot.replies("bot", 1))[0]
    await bot.command("UALI", "<@UBEA> 20 a lot", "a")
    await bot.command("UALI", "<@UBEA> 6 more", "cap")
    assert (
        "You can give bea 5 more points today (daily limit 25)" in (await bot.replies("cap", 1))[0]
    )
    await bot.command("UALI", "<@UCAN> 20 a lot", "b")
    await bot.replies("b", 2)
    await bot.command("UALI", "<@UDAN> 11 too much", "over")
    (over,) = await bot.replies("over", 1)
    assert over.startswith("You have 10 points left to give this month (resets 1 Dec)")
    assert (await bot.available("UBEA"), await bot.available("UDAN")) == (20, 0)


async def test_a_reaction_gives_and_its_removal_revokes_once(bot: SlackHarness) -> None:
    ts = s.new_ts()
    await bot.event(s.reaction_added_event("UALI", "star", "C1", ts, "UBEA"))
    await bot.ephemerals("UALI", 1)
    assert await bot.available("UBEA") == 3
    await bot.event(s.reaction_removed_event("UALI", "star", "C1", ts, "UBEA"))
    texts = await bot.ephemerals("UALI", 2)
    assert texts[1] == "You took back 3 points from bea."
    await bot.event(s.reaction_removed_event("UALI", "star", "C1", ts, "UBEA"))
    await bot.event(s.reaction_added_event("UALI", "star", "C1", ts, "UBEA"))  # re-added
    await bot.event(s.reaction_added_event("UALI", "taco", "C1", ts, "UCAN"))  # a sentinel
    await bot.ephemerals("UALI", 3)
    assert (await bot.available("UBEA"), await bot.available("UCAN")) == (0, 1)
    assert bot.kudos().allowance(_member_id(bot, "UALI"), None).left == 49


async def test_an_edited_message_gives_nothing_more(bot: SlackHarness) -> None:
    original = s.message_event("C1", "UALI", "+5 <@UBEA> thanks")
    await bot.event(original)
    await bot.fake.wait_for(lambda: announcements(bot.fake))
    edit = s.message_changed_event(
        "C1", "UALI", original["ts"], "+9 <@UBEA> thanks!!", "+5 <@UBEA> thanks"
    )
    await bot.event(edit)
    await bot.event(s.message_event("C1", "UALI", "+1 <@UCAN> sentinel"))
    await bot.fake.wait_for(lambda: len(announcements(bot.fake)) == 2)
    assert await bot.available("UBEA") == 5


async def test_a_retried_event_has_no_second_effect(bot: SlackHarness) -> None:
    event = s.message_event("C1", "UALI", "+5 <@UBEA> thanks")
    event_id = s.new_event_id()
    await bot.event(event, event_id)
    await bot.fake.wait_for(lambda: announcements(bot.fake))
    await bot.event(event, event_id, retry_num=1)
    await bot.event(s.message_event("C1", "UALI", "+1 <@UCAN> sentinel"))
    await bot.fake.wait_for(lambda: len(announcements(bot.fake)) == 2)
    assert await bot.available("UBEA") == 5
    assert len(await bot.ephemerals("UALI", 2)) == 2


async def test_bad_signatures_and_stale_timestamps_are_refused(bot: SlackHarness) -> None:
    body = s.event_body(s.message_event("C1", "UALI", "+5 <@UBEA> thanks"))
    forged = s.headers("not-the-secret", body)
    assert (await bot.http.post("/slack/events", content=body, headers=forged)).status_code == 401
    stale = await bot.post(body, timestamp=int(time.time()) - 6 * 60)
    assert stale.status_code == 401
    assert bot.fake.calls_to("chat.postMessage") == []
    assert await bot.available("UBEA") == 0


async def test_the_allowance_resets_at_the_month_start_in_the_givers_zone(
    fake_slack: FakeSlackApi, tmp_path: Path
) -> None:
    fake_slack.add_user("UALI", "ali", tz="Asia/Tokyo")
    fake_slack.add_user("UBEA", "bea")
    fake_slack.add_user("UCAN", "can")
    fake_slack.add_user("UDAN", "dan")
    async with running_slack(
        fake_slack, tmp_path, datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
    ) as bot:
        for user, reply in (("UBEA", "a"), ("UCAN", "b")):
            await bot.command("UALI", f"<@{user}> 20 thanks", reply)
            await bot.replies(reply, 2)
        await bot.command("UALI", "<@UDAN> 20 thanks", "refused")
        assert "10 points left" in (await bot.replies("refused", 1))[0]
        bot.clock.current = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 1 Dec 00:00 in Tokyo
        await bot.command("UALI", "balance", "bal")
        assert "To give: 50 of 50 left, resets 1 Jan" in (await bot.replies("bal", 1))[0]
        await bot.command("UALI", "<@UDAN> 20 thanks", "ok")
        assert "30 of 50" in (await bot.replies("ok", 2))[1]


async def test_kudos_usage_leaderboard_and_loyalty_routing(bot: SlackHarness) -> None:
    await bot.command("UALI", "", "usage")
    assert (await bot.replies("usage", 1))[0].startswith("Usage: /kudos @person")
    await bot.command("UALI", "leaderboard", "empty")
    assert "No kudos yet" in (await bot.replies("empty", 1))[0]
    body = s.slash_command_body(
        "/loyalty", "balance", user_id="UALI", response_url=bot.fake.response_url("loyal")
    )
    assert (await bot.post(body)).status_code == 200
    assert "points" in (await bot.replies("loyal", 1))[0]


def _member_id(bot: SlackHarness, user: str) -> int:
    member = bot.services.loyalty.identify("slack", user)
    assert member is not None
    return member.id


async def test_the_receiver_gets_a_dm_through_the_outbox(bot: SlackHarness) -> None:
    services = bot.services
    dispatcher = Dispatcher(services.outbox, services.database, services.renderer, bot.clock)
    dispatcher.register(SlackSender(web_client(TOKEN, bot.fake.api_url), services.renderer))
    await bot.command("UALI", "<@UBEA> 5 thanks #teamwork", "r1")
    await bot.replies("r1", 2)
    await dispatcher.run_once()
    (dm,) = await bot.fake.wait_for(lambda: bot.fake.posted_messages("DUBEA"))
    assert dm["text"] == "🙌 ali gave you 5 points: “thanks #teamwork”"


def test_loyalty_run_includes_slack_when_configured(bot: SlackHarness) -> None:
    components = platform_components(bot.services)
    names = [type(c).__name__ for c in components]
    assert names[:2] == ["SlackComponent", "Dispatcher"]  # then any background jobs


async def test_redeeming_earned_points_needs_one_confirmation(
    fake_slack: FakeSlackApi, tmp_path: Path
) -> None:
    for user in ("UALI", "UBEA"):
        fake_slack.add_user(user, user[1:].lower())
    async with running_slack(fake_slack, tmp_path, NOW, admins="slack:UALI") as bot:
        await bot.command("UALI", "award <@UBEA> 200 great quarter", "award")
        assert "200" in (await bot.replies("award", 1))[0]
        await bot.command("UBEA", "redeem cookie", "quote")
        await bot.replies("quote", 1)
        actions = bot.fake.responses_to("quote")[0]["blocks"][1]["elements"]
        confirm = next(a for a in actions if a["value"].startswith("/confirm"))
        for attempt in ("tap1", "tap2"):
            body = s.block_action_body("UBEA", confirm["action_id"], confirm["value"],
                                       response_url=bot.fake.response_url(attempt))  # fmt: skip
            assert (await bot.post(body)).status_code == 200
        first, second = (await bot.replies("tap1", 1))[0], (await bot.replies("tap2", 1))[0]
        assert second.splitlines()[0] == first.splitlines()[0]  # the same voucher
        assert "nothing spent twice" in second
        assert await bot.available("UBEA") == 50


async def test_only_admins_award(bot: SlackHarness) -> None:
    await bot.command("UALI", "award <@UBEA> 200 great quarter", "award")
    assert (await bot.replies("award", 1))[0].startswith("Only staff")
    assert await bot.available("UBEA") == 0


async def test_an_unknown_person_is_refused_and_the_rest_still_get_points(
    bot: SlackHarness,
) -> None:
    await bot.command("UALI", "<@UNOBODY> <@UBEA> 2 thanks", "r")
    public, private = await bot.replies("r", 2)
    assert "<@UBEA> received 2 points" in public
    assert private.startswith("I can't find a member “<@UNOBODY>”")
