"""The outbox dispatcher with the real Telegram and Slack clients against the fakes, on SQLite
and PostgreSQL: opt-outs are skipped (never failed), marketing waits for the end of quiet hours
in the member's own zone, transactional messages never wait, and messages carry buttons, an
image and channel recipients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from telegram import Bot

from bot.bootstrap import Services, build
from bot.cards import qr_png
from bot.clock import SystemClock
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.pacer import Pacer
from bot.settings import Settings
from bot.slack.app import web_client
from bot.slack.people import SlackPeople
from bot.slack.sender import SlackSender
from bot.telegram.sender import TelegramSender
from core.categories import BROADCAST, TRANSACTIONAL
from core.model import Identity
from core.outbox import MessageButton, OutboxImage, OutboxMessage, Recipient
from tests.adapters.slack_support import MovableClock
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, UploadedFile

pytest_plugins = ["tests.fakes.fixtures", "tests.fakes.slack_fixtures"]

TOKEN = "123:ABC"
# 20:30 UTC: 23:30 in Istanbul (quiet), 05:30 next day in Tokyo (quiet), 15:30 in New York,
# the program's zone (not quiet).
EVENING = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)
ISTANBUL_MORNING = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Istanbul
TOKYO_MORNING = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo


@dataclass
class Post:
    """The bot with both senders registered, and the fakes they talk to."""

    services: Services
    dispatcher: Dispatcher
    clock: MovableClock
    telegram: FakeTelegramApi
    slack: FakeSlackApi
    people: SlackPeople

    async def member(self, name: str, chat: int) -> int:
        identity = Identity(platform="telegram", external_id=str(chat), display_name=name)
        result = await asyncio.to_thread(self.services.loyalty.enroll, identity)
        return result.member.id

    def queue(self, message: OutboxMessage) -> None:
        now = self.clock.now()
        self.services.database.run(lambda uow: uow.outbox.add(message, now))

    async def drain(self) -> int:
        """Run the dispatcher until it finds nothing due; how many rows it claimed."""
        total = 0
        while claimed := await self.dispatcher.run_once():
            total += claimed
        return total

    def rows(self) -> dict[str, tuple[Any, ...]]:
        """dedupe key -> (status, last_error, not_before) of every outbox row."""
        with self.services.database.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT dedupe_key, status, last_error, not_before FROM outbox"
            ).all()
        return {str(r[0]): (r[1], r[2], _utc(r[3])) for r in rows}


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def note(member_id: int, dedupe_key: str, category: str = BROADCAST, **extra: Any) -> OutboxMessage:
    return OutboxMessage(
        recipient=Recipient.member(member_id),
        key="notify.points_awarded",
        params={"points": 10, "reason": dedupe_key},
        dedupe_key=dedupe_key,
        category=category,
        **extra,
    )


@pytest_asyncio.fixture
async def post(
    migrated_url: str, fake_telegram: FakeTelegramApi, fake_slack: FakeSlackApi
) -> AsyncIterator[Post]:
    clock = MovableClock(EVENING)
    settings = Settings(_env_file=None, database_url=migrated_url)  # type: ignore[call-arg]
    services = await asyncio.to_thread(build, settings, clock, False)
    slack = web_client("xoxb-test", fake_slack.api_url)
    dispatcher = Dispatcher(
        services.outbox, services.database, services.renderer, clock, channel_language="en"
    )
    # Pacing is not what these tests are about: no waits between messages to one chat.
    async with Bot(TOKEN, base_url=fake_telegram.base_url) as bot:
        dispatcher.register(TelegramSender(bot, services.renderer), Pacer(1000, 0))
        dispatcher.register(SlackSender(slack, services.renderer), Pacer(1000, 0))
        people = SlackPeople(slack, services.loyalty, None)
        try:
            yield Post(services, dispatcher, clock, fake_telegram, fake_slack, people)
        finally:
            services.close()


async def test_an_opted_out_category_is_skipped_not_failed(post: Post) -> None:
    ann = await post.member("Ann", 2001)
    post.clock.current = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # noon in New York
    post.services.loyalty.subscribe(ann, [BROADCAST], receive=False)
    post.queue(note(ann, "promo"))
    post.queue(note(ann, "receipt", category="transactional"))
    assert await post.drain() == 2
    rows = post.rows()
    assert rows["promo"][:2] == ("skipped", "opted_out:broadcast")
    assert rows["receipt"][:2] == ("sent", None)
    assert not [key for key, row in rows.items() if row[0] == "failed"]
    sent = post.telegram.sent_messages(2001)
    assert [m.text for m in sent] == ["🎁 You received 10 points for receipt. See /balance."]
    # Opting back in lets the next promotion through.
    post.services.loyalty.subscribe(ann, [BROADCAST], receive=True)
    post.queue(note(ann, "promo-2"))
    await post.drain()
    assert post.rows()["promo-2"][0] == "sent"


async def test_quiet_hours_defer_marketing_to_the_end_of_the_members_own_night(
    post: Post,
) -> None:
    ann = await post.member("Ann", 2001)  # chose Istanbul in /settings
    post.services.loyalty.set_time_zone(ann, "Istanbul")
    bob = await post.member("Bob", 2002)  # no zone: the program's, New York
    post.slack.add_user("UCEM", "cem", tz="Asia/Tokyo")  # Slack's profile says Tokyo
    cem = (await post.people.person("UCEM")).member_id
    assert cem is not None
    for member, key in [(ann, "promo-ann"), (bob, "promo-bob"), (cem, "promo-cem")]:
        post.queue(note(member, key))
    post.queue(note(ann, "receipt-ann", category="transactional"))
    await post.drain()
    rows = post.rows()
    assert rows["promo-ann"] == ("deferred", "quiet_hours", ISTANBUL_MORNING)
    assert rows["promo-cem"] == ("deferred", "quiet_hours", TOKYO_MORNING)
    assert rows["promo-bob"][0] == "sent"  # 15:30 at home
    assert rows["receipt-ann"][0] == "sent"  # transactional: never waits
    assert len(post.telegram.sent_messages(2001)) == 1

    post.clock.current = TOKYO_MORNING - timedelta(microseconds=1)
    assert await post.drain() == 0
    post.clock.current = TOKYO_MORNING
    assert await post.drain() == 1
    assert post.rows()["promo-cem"][0] == "sent"
    (dm,) = post.slack.posted_messages("DUCEM")
    assert dm["text"] == "🎁 You received 10 points for promo-cem. See /balance."

    post.clock.current = ISTANBUL_MORNING - timedelta(minutes=1)
    assert await post.drain() == 0
    post.clock.current = ISTANBUL_MORNING
    assert await post.drain() == 1
    statuses = {key: row[0] for key, row in post.rows().items()}
    assert set(statuses.values()) == {"sent"}
    assert len(post.telegram.sent_messages(2001)) == 2


async def test_telegram_gets_buttons_and_the_image_is_uploaded_once(post: Post) -> None:
    ann, bob = await post.member("Ann", 2001), await post.member("Bob", 2002)
    png = qr_png("LC.K7Q-4MX2.1.test")
    image = OutboxImage(content_type="image/png", data=png)
    buttons = (
        (MessageButton(label="button.balance", command="/balance"),),
        (MessageButton(label="button.rewards", url="https://coffee.example/offers"),),
    )
    post.clock.current = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    for member, key in [(ann, "offer-ann"), (bob, "offer-bob")]:
        post.queue(note(member, key, buttons=buttons, image=image))
    await post.drain()
    calls = post.telegram.calls_to("sendPhoto")
    # Messages go a few at a time (the dispatcher's IN_FLIGHT): which chat completes first
    # varies; the one that uploaded the photo is the first, the other reuses its file id.
    first, second = sorted(calls, key=lambda c: not isinstance(c.params["photo"], UploadedFile))
    assert {str(first.chat_id), str(second.chat_id)} == {"2001", "2002"}
    uploaded = first.params["photo"]
    assert isinstance(uploaded, UploadedFile) and uploaded.data == png
    receipt = "offer-ann" if str(first.chat_id) == "2001" else "offer-bob"
    assert first.text == f"🎁 You received 10 points for {receipt}. See /balance."
    keyboard = first.params["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [{"text": "My balance", "callback_data": "/balance"}],
        [{"text": "Rewards", "url": "https://coffee.example/offers"}],
    ]
    # Telegram keeps the photo: the second member gets it by file id, not a new upload.
    photo_id = first.result["photo"][-1]["file_id"]
    assert second.params["photo"] == photo_id
    assert {row[0] for row in post.rows().values()} == {"sent"}


async def test_slack_posts_to_a_channel_with_buttons(post: Post) -> None:
    post.queue(
        OutboxMessage(
            recipient=Recipient.in_channel("slack", "C0GENERAL"),
            key="kudos.given",
            params={"receiver": "<@UBEA>", "points": 5, "giver": "Ali", "reason": "the demo"},
            dedupe_key="wall:1",
            buttons=((MessageButton(label="button.balance", command="/balance"),),),
        )
    )
    await post.drain()
    (message,) = post.slack.posted_messages("C0GENERAL")
    assert message["text"] == "🙌 <@UBEA> received 5 points from Ali — “the demo”"
    section, actions = message["blocks"]
    assert section["text"]["text"] == message["text"]
    (button,) = actions["elements"]
    assert (button["text"]["text"], button["value"]) == ("My balance", "/balance")
    assert not post.slack.calls_to("conversations.open")  # a channel, not a direct message
    assert post.rows()["wall:1"][0] == "sent"


async def test_slack_gets_the_image_as_an_uploaded_file_after_the_text(post: Post) -> None:
    png = qr_png("LC.K7Q-4MX2.1.test")
    post.queue(
        OutboxMessage(
            recipient=Recipient.in_channel("slack", "C0GENERAL"),
            key="kudos.given",
            params={"receiver": "<@UBEA>", "points": 5, "giver": "Ali", "reason": "the demo"},
            dedupe_key="wall:image",
            image=OutboxImage(content_type="image/png", data=png),
        )
    )
    await post.drain()
    (message,) = post.slack.posted_messages("C0GENERAL")
    (shared,) = post.slack.files
    assert (shared.channel, shared.data) == ("C0GENERAL", png)
    assert shared.title == message["text"][:80]
    assert post.rows()["wall:image"][0] == "sent"


async def _paced_receipts(post: Post, bot: Bot, chats: list[int]) -> Dispatcher:
    """A receipt queued to each chat's member, and a dispatcher paced as in production (the
    sender's own 29/s and 1 s per chat, real clock)."""
    dispatcher = Dispatcher(
        post.services.outbox,
        post.services.database,
        post.services.renderer,
        SystemClock(),
        channel_language="en",
    )
    dispatcher.register(TelegramSender(bot, post.services.renderer))
    members = [await post.member(f"m{chat}", chat) for chat in chats]
    for member in members:
        post.queue(note(member, f"receipt-{member}", category=TRANSACTIONAL))
    return dispatcher


async def _drain_until_each_has_one(
    post: Post, dispatcher: Dispatcher, chats: list[int], timeout: float
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    wanted = {str(chat) for chat in chats}
    while not wanted <= {str(c.chat_id) for c in post.telegram.sent_messages()}:
        assert asyncio.get_running_loop().time() < deadline, "the outbox was not drained"
        if not await dispatcher.run_once():  # a message waits out a 429: look again shortly
            await asyncio.sleep(0.05)


async def test_one_worker_sends_no_burst_beyond_the_fakes_30_per_second(post: Post) -> None:
    """A single worker against Telegram's flood limit (30/s overall, 1/s per chat): every
    message once, no 429 and never more than 30 sends in a second."""
    post.telegram.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
    chats = list(range(7001, 7091))
    async with Bot(TOKEN, base_url=post.telegram.base_url) as bot:
        dispatcher = await _paced_receipts(post, bot, chats)
        await _drain_until_each_has_one(post, dispatcher, chats, timeout=60)
    assert post.telegram.too_many_requests == 0
    assert post.telegram.peak_sends() <= 30
    assert sorted(int(c.chat_id) for c in post.telegram.sent_messages()) == chats
    assert {row[0] for row in post.rows().values()} == {"sent"}


async def test_one_429_pauses_every_message_already_waiting_for_a_slot(post: Post) -> None:
    """Another sender on the token has just spent its second: the first message meets a 429
    and every message already queued behind the pacer waits it out, instead of each meeting
    the same 429 in turn."""
    post.telegram.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
    chats = list(range(7101, 7141))
    async with Bot(TOKEN, base_url=post.telegram.base_url) as bot:
        dispatcher = await _paced_receipts(post, bot, chats)
        await asyncio.gather(*(bot.send_message(9000 + n, "elsewhere") for n in range(30)))
        await _drain_until_each_has_one(post, dispatcher, chats, timeout=60)
    assert post.telegram.too_many_requests == 1
    delivered = [int(c.chat_id) for c in post.telegram.sent_messages() if int(c.chat_id) < 9000]
    assert sorted(delivered) == chats
    assert {row[0] for row in post.rows().values()} == {"sent"}
