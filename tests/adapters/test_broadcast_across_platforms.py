"""A broadcast crosses platforms: staff on Slack reach Telegram members and staff on Telegram
reach Slack members, with the real bolt and PTB adapters and the outbox dispatcher against the
fakes, on SQLite and PostgreSQL. The text keeps its line breaks on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio

from bot.bootstrap import Services, build
from bot.outbox.dispatcher import Dispatcher
from bot.runner import http_app
from bot.settings import Settings
from bot.slack.component import SlackComponent
from bot.telegram.component import TelegramComponent
from core.model import Identity, Member, Role
from tests.adapters.slack_support import MovableClock
from tests.adapters.telegram_support import until
from tests.fakes import slack_signing
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import (
    FakeTelegramApi,
    make_callback_update,
    make_command_update,
    make_text_update,
)

pytest_plugins = ["tests.fakes.fixtures", "tests.fakes.slack_fixtures"]

# 15:00 UTC: daytime in New York (the program's zone) and in UTC, so no quiet hours hold
# the marketing messages back.
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
SECRET = "slack-signing-secret"
TEXT = "New beans are in!\nEthiopia Guji, light roast\n\nSee you soon"
SAM = 7001  # Telegram staff


@dataclass
class Both:
    """One program served on Telegram (polling) and Slack (HTTP), with one dispatcher."""

    services: Services
    telegram: FakeTelegramApi
    slack: FakeSlackApi
    http: httpx.AsyncClient

    async def member(self, platform: str, external_id: str, role: Role = Role.MEMBER) -> Member:
        identity = Identity(platform=platform, external_id=external_id, display_name=external_id)
        loyalty = self.services.loyalty
        member = (await asyncio.to_thread(loyalty.enroll, identity)).member
        if role != member.role:
            member = await asyncio.to_thread(loyalty.set_role, member.code, role)
        return member

    async def slack_says(self, user: str, text: str, reply_id: str) -> str:
        """`/loyalty text` as `user`; the answer posted to its response URL."""
        body = slack_signing.slash_command_body(
            "/loyalty", text, user_id=user, response_url=self.slack.response_url(reply_id)
        )
        headers = slack_signing.headers(SECRET, body)
        response = await self.http.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 200, response.text
        (answer,) = await self.slack.wait_for(lambda: self.slack.responses_to(reply_id))
        return str(answer.get("text", ""))

    async def dm(self, user: str, text: str) -> None:
        """A direct message from `user` to the bot, delivered as Slack's Events API does."""
        event = slack_signing.message_event(f"D{user}", user, text)
        body = slack_signing.event_body(event)
        headers = slack_signing.headers(SECRET, body)
        response = await self.http.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 200, response.text

    async def telegram_says(self, user: int, text: str) -> str:
        """`text` typed by Telegram user `user`; the bot's answer in their chat."""
        return str((await self.telegram_answer(user, text)).get("text"))

    async def telegram_answer(self, user: int, text: str, tap: bool = False) -> dict[str, Any]:
        """A command, a plain message or (`tap`) a button's data sent by Telegram user `user`;
        the parameters of the bot's answer in their chat."""
        before = len(self.telegram.sent_messages(user))
        update_id = self.telegram.next_update_id()
        if tap:
            update = make_callback_update(update_id, user, text, first_name="Sam")
        elif text.startswith("/"):
            update = make_command_update(update_id, user, text, first_name="Sam")
        else:
            update = make_text_update(update_id, user, text, first_name="Sam")
        self.telegram.push_update(update)
        sent = await self.telegram.wait_for_messages(user, before + 1, timeout=10)
        return dict(sent[before].params)


@pytest_asyncio.fixture
async def both(
    migrated_url: str, fake_telegram: FakeTelegramApi, fake_slack: FakeSlackApi
) -> AsyncIterator[Both]:
    settings = Settings(
        _env_file=None,
        database_url=migrated_url,  # type: ignore[call-arg]
        loyalty_env="development",  # the fakes' tokens are not real ones
        telegram_bot_token="123:ABC",
        telegram_api_base_url=fake_telegram.base_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
    )
    services = await asyncio.to_thread(build, settings, MovableClock(NOW), False)
    telegram = TelegramComponent(services, poll_timeout=1)
    slack = SlackComponent(services)
    dispatcher = Dispatcher(
        services.outbox,
        services.database,
        services.renderer,
        services.loyalty.clock,
        idle_seconds=0.05,
    )
    dispatcher.register(telegram.sender(), telegram.pacer)
    dispatcher.register(slack.sender(), services.pacers["slack"])
    await telegram.start()
    await dispatcher.start()
    transport = httpx.ASGITransport(app=http_app([slack]))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://slack.test") as http:
            yield Both(services, fake_telegram, fake_slack, http)
    finally:
        await dispatcher.stop()
        await telegram.stop()
        await slack.stop()
        services.close()


async def test_slack_staff_reach_telegram_members(both: Both) -> None:
    both.slack.add_user("UALI", "ali")
    await both.member("slack", "UALI", Role.STAFF)
    readers = [await both.member("telegram", str(chat)) for chat in (101, 102, 103)]
    preview = await both.slack_says(
        "UALI", f"broadcast platform:telegram holdout:0 {TEXT}", "draft"
    )
    assert "3 members" in preview and preview.endswith("📣 " + TEXT)
    started = await both.slack_says("UALI", "broadcast send 1", "send")
    assert "3 members (0 held back)" in started
    for member, chat in zip(readers, (101, 102, 103), strict=True):
        (message,) = await both.telegram.wait_for_messages(chat, 1, timeout=10)
        assert message.params["text"] == "📣 " + TEXT, member
    # The report goes back to the author, on Slack, once every row is settled.
    await until(lambda: both.services.broadcasts.finish_done(NOW))
    report = await both.slack.wait_for(
        lambda: [m for m in both.slack.posted_messages("DUALI") if "is done" in m["text"]]
    )
    assert "3 got it" in report[0]["text"]
    assert not both.slack.posted_messages("DUALI")[:-1]  # nothing but the report


async def test_telegram_staff_reach_slack_members(both: Both) -> None:
    await both.member("telegram", str(SAM), Role.STAFF)
    for user in ("UBEA", "UCEM"):
        both.slack.add_user(user, user.lower())
        await both.member("slack", user)
    preview = await both.telegram_says(SAM, f"/broadcast platform:slack holdout:0 {TEXT}")
    assert "2 members" in preview and preview.endswith("📣 " + TEXT)
    started = await both.telegram_says(SAM, "/broadcast send 1")
    assert "2 members (0 held back)" in started
    for user in ("UBEA", "UCEM"):
        (message,) = await both.slack.wait_for(
            lambda user=user: both.slack.posted_messages(f"D{user}")  # type: ignore[misc]
        )
        assert message["text"] == "📣 " + TEXT
        assert message["blocks"][0]["text"]["text"] == "📣 " + TEXT
    assert not both.telegram.sent_messages(101)  # nobody on Telegram but Sam was written to


async def test_telegram_staff_compose_step_by_step(both: Both) -> None:
    """`/broadcast` alone, a segment button, then the text as a plain message: the same
    preview as the one-line form, and Send now reaches the Slack members."""
    await both.member("telegram", str(SAM), Role.STAFF)
    both.slack.add_user("UBEA", "bea")
    await both.member("slack", "UBEA")
    asked = await both.telegram_answer(SAM, "/broadcast")
    taps = [b["callback_data"] for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    assert "/broadcast to platform:slack" in taps
    chosen = await both.telegram_answer(SAM, "/broadcast to platform:slack", tap=True)
    assert "Now send the text" in chosen["text"]
    # Chatter in a group the bot is in never becomes the text: there it is only the hint.
    group = make_text_update(both.telegram.next_update_id(), SAM, "morning all", first_name="Sam")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "Cafe"}
    both.telegram.push_update(group)
    (hint,) = await both.telegram.wait_for_messages(-100, 1, timeout=10)
    assert str(hint.params["text"]).startswith("I understand commands like /balance")
    preview = await both.telegram_answer(SAM, TEXT)
    assert "1 member." in preview["text"] and preview["text"].endswith("📣 " + TEXT)
    taps = [b["callback_data"] for row in preview["reply_markup"]["inline_keyboard"] for b in row]
    assert "/broadcast send 1" in taps
    await both.telegram_answer(SAM, "/broadcast send 1", tap=True)
    (message,) = await both.slack.wait_for(lambda: both.slack.posted_messages("DUBEA"))
    assert message["text"] == "📣 " + TEXT
    hint = await both.telegram_says(SAM, "thanks!")  # composing is over: the usual hint
    assert hint.startswith("I understand commands like /balance")


async def test_slack_staff_compose_step_by_step_in_a_direct_message(both: Both) -> None:
    """On Slack the segment comes from `/loyalty broadcast`'s buttons and the text as a direct
    message to the bot; other direct messages stay unanswered, as before."""
    both.slack.add_user("UALI", "ali")
    both.slack.add_user("UDAN", "dan")
    await both.member("slack", "UALI", Role.STAFF)
    await both.member("slack", "UDAN")
    await both.member("telegram", "101")
    asked = await both.slack_says("UALI", "broadcast", "ask")
    assert "Who should get it?" in asked
    (body,) = both.slack.responses_to("ask")
    values = [e["value"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "/broadcast to platform:telegram" in values
    chosen = await both.slack_says("UALI", "/broadcast to platform:telegram holdout:0", "to")
    assert "Now send the text" in chosen
    await both.dm("UDAN", "hello bot")  # a member's chat: no answer
    await both.dm("UALI", TEXT)
    (preview,) = await both.slack.wait_for(lambda: both.slack.posted_messages("DUALI"))
    assert "1 member." in preview["text"] and preview["text"].endswith("📣 " + TEXT)
    assert not both.slack.posted_messages("DUDAN")
    await both.slack_says("UALI", "broadcast send 1", "send")
    (message,) = await both.telegram.wait_for_messages(101, 1, timeout=10)
    assert message.params["text"] == "📣 " + TEXT
