"""The bolt AsyncApp: listeners for /kudos, /loyalty, `+N @person` messages, reactions, Home."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import (
    AsyncAck,
    AsyncApp,
    AsyncBoltContext,
    AsyncBoltRequest,
    AsyncRespond,
)
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.outbox.pacer import Pacer
from bot.replies import Line
from bot.requests import ChatRequest, line_problem
from bot.router import Router
from bot.slack.blocks import ACTION_PREFIX, LINK_PREFIX
from bot.slack.commands import KudosCommand, Respond, identity_of
from bot.slack.files import SlackFiles
from bot.slack.gate import SlackHosts
from bot.slack.giving import Giving, place_of
from bot.slack.home import Standing
from bot.slack.parse import GiftRequest, plus_message
from bot.slack.people import PLATFORM, SlackPeople
from bot.slack.retry import LenientRateLimitRetryHandler
from bot.slack.workspace import WorkspaceGuard
from core import deliveries
from core.deliveries import Delivery, DeliveryTaken, Inbound, new_handling
from core.gamification import Gamification
from core.loyalty import Loyalty
from core.model import Member, Role

log = logging.getLogger(__name__)
# Across channels: a generous workspace-wide pace; per channel the 1/s gap is what counts.
CHANNEL_POSTS_PER_SECOND = 20.0

Listener = Callable[..., Awaitable[None]]

# Messages people type; edits (message_changed), deletions and bot posts never give points.
_GIVING_SUBTYPES = frozenset({None, "thread_broadcast"})


def web_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client that waits out 429s instead of failing."""
    return configure_client(AsyncWebClient(token=token), api_url)


def configure_client(
    client: AsyncWebClient, api_url: str, rate_limited: Callable[[], None] | None = None
) -> AsyncWebClient:
    """Point `client` at `api_url` and make it wait out 429s (a Retry-After it cannot read
    counts as one second), telling `rate_limited` of each."""
    client.base_url = api_url if api_url.endswith("/") else api_url + "/"  # slack-sdk joins URLs
    client.retry_handlers.append(LenientRateLimitRetryHandler(3, rate_limited))
    return client


def delivery_key(body: dict[str, Any]) -> str | None:
    """The id Slack gives this delivery: an event id, or a command's/action's trigger id;
    None when it has neither (such a delivery is refused: it cannot be kept to once)."""
    key = body.get("event_id") or body.get("trigger_id")
    return f"slack:{key}" if key else None


# Which handling holds a kept delivery: set by the component on a kept delivery it takes over.
HOLDER_HEADER = "x-loyalty-delivery-holder"
# Where the component leaves a delivery it kept a moment ago, with its sender (`Kept`), in
# the bolt request's context.
KEPT = "loyalty_kept"


@dataclass(frozen=True)
class Kept:
    """A delivery the component kept (so held) for this handling, and its sender's membership
    read in the same trip to a worker thread: `admit` then needs no trip of its own."""

    delivery: Delivery
    user_id: str | None
    member: Member | None


def admitted(context: AsyncBoltContext) -> tuple[str, Member | None]:
    """The delivery key and the sender's membership that `SlackListeners.admit` recorded."""
    member = context.get("member")
    return str(context["delivery_key"]), member if isinstance(member, Member) else None


class ResponseUrls:
    """Answers at response URLs like bolt's `respond`, over one shared HTTP session: bolt
    opens a new session (and TCP connection) for every answer. Only URLs on Slack's hosts
    are ever posted to."""

    def __init__(self, hosts: SlackHosts, rate_limited: Callable[[], None] | None = None) -> None:
        self._hosts = hosts
        self._session: aiohttp.ClientSession | None = None
        self._rate_limited = rate_limited  # told of each 429 an answer meets (the metric)

    def to(self, url: object) -> Respond | None:
        """A `respond` for `url`; None when there is no response URL."""
        if not isinstance(url, str) or not url:
            return None
        if not self._hosts.allows(url):
            log.warning("not answering at a response URL outside Slack's hosts")
            return _unanswered

        async def respond(text: str = "", blocks: Any = None, **options: Any) -> Any:
            client = AsyncWebhookClient(url, session=self._open())
            answer = await client.send(text=text, blocks=blocks, **options)
            if answer.status_code == 429 and self._rate_limited is not None:
                self._rate_limited()
            return answer

        return respond

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        """Close the shared session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _unanswered(text: str = "", blocks: Any = None, **options: Any) -> None:
    """Where a response URL is not Slack's, the answer is dropped."""


class DirectMessage:
    """Answers like bolt's `respond`, as a direct message from the bot (no response URL)."""

    def __init__(self, client: AsyncWebClient, user_id: str) -> None:
        self.client = client
        self.user_id = user_id

    async def __call__(
        self, text: str = "", blocks: list[dict[str, Any]] | None = None, **_: Any
    ) -> None:
        opened = await self.client.conversations_open(users=self.user_id)
        channel = str((opened.get("channel") or {}).get("id", self.user_id))
        await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)


class SlackListeners:
    """Every bolt listener of the bot, sharing the people directory and the core façades."""

    def __init__(
        self,
        loyalty: Loyalty,
        router: Router,
        giving: Giving,
        people: SlackPeople,
        hosts: SlackHosts,
        games: Gamification | None = None,
        files: SlackFiles | None = None,
        *,
        inbound: Inbound,
        channels: Pacer | None = None,
        rate_limited: Callable[[], None] | None = None,
    ) -> None:
        self.loyalty = loyalty
        self.inbound = inbound
        self.router = router
        self.giving = giving
        self.people = people
        self.standing = Standing(giving, games)
        self.kudos_command = KudosCommand(router, giving, files)
        self.responses = ResponseUrls(hosts, rate_limited)
        # chat.postMessage allows about one message per second per channel; announcements
        # share the token's budget with the outbox's direct messages.
        self.channels = channels or Pacer(CHANNEL_POSTS_PER_SECOND, per_chat_interval=1.0)

    def register(self, app: AsyncApp) -> None:
        """Attach middleware and listeners to `app`."""
        app.use(self.admit)
        app.error(self.on_error)
        done = self._finishing
        app.command("/kudos")(done(self.on_kudos))
        app.command("/loyalty")(done(self.on_loyalty))
        app.event("message")(done(self.on_message))
        app.event("reaction_added")(done(self.on_reaction_added))
        app.event("reaction_removed")(done(self.on_reaction_removed))
        app.event("app_home_opened")(done(self.on_home_opened))
        app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(done(self.on_button))
        app.action(re.compile("^" + re.escape(LINK_PREFIX)))(done(self.on_link))

    def _finishing(self, listener: Listener) -> Listener:
        """`listener`, then its delivery marked done if no write transaction settled it (a
        balance, a Home tab): else it would be taken over again when its lease runs out.
        Bolt reads the listener's parameters through `functools.wraps`."""

        @functools.wraps(listener)
        async def finishing(*args: Any, **kwargs: Any) -> None:
            try:
                await listener(*args, **kwargs)
            finally:
                delivery = deliveries.current()  # set by `admit`, inherited by this task
                if delivery is not None and not delivery.settled and not delivery.failed:
                    await asyncio.to_thread(self.inbound.finish, delivery)

        return finishing

    async def admit(
        self,
        body: dict[str, Any],
        request: AsyncBoltRequest,
        context: AsyncBoltContext,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        """Claim the delivery and identify its sender in one transaction; answer a delivery
        seen before with 200 and do nothing (Slack retries, bolt does not de-duplicate).

        Listeners find the key and the sender's membership in the context (`admitted`).
        A delivery without an id is refused: every such one would share a key.
        """
        if self.people.bot_user_id is None:
            self.people.bot_user_id = context.bot_user_id
        key = delivery_key(body)
        if key is None:
            log.error(
                "refusing a slack delivery without an event or trigger id: %s", body.get("type")
            )
            await self._apologise(body, self.giving.language)
            return BoltResponse(status=200, body="")
        kept = context.get(KEPT)
        holder = request.headers.get(HOLDER_HEADER)
        # The component kept it (or took it over) under this holder a moment ago.
        delivery = Delivery(key=key, holder=holder[0], fresh=True) if holder else new_handling(key)
        user_id = context.user_id
        member: Member | None = None
        if isinstance(kept, Kept) and kept.delivery.key == key and kept.user_id == user_id:
            delivery, member, held = kept.delivery, kept.member, True
        elif user_id:
            lease = self.inbound.lease
            held, member = await asyncio.to_thread(
                self.loyalty.admit, delivery, PLATFORM, user_id, lease
            )
        else:
            held = await asyncio.to_thread(self.inbound.hold, delivery)
        if not held:
            log.info("dropping %s: handled before, or being handled", key)
            return BoltResponse(status=200, body="")
        context["delivery_key"] = key
        context["member"] = member
        # Bolt runs the listener after the middleware, in a task that inherits this: its write
        # transactions settle the delivery (each request is dispatched in a task of its own).
        deliveries.enter(delivery)
        await next()
        return None

    async def on_error(
        self, error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Log an unexpected failure with its delivery id; a person who asked gets an apology.
        A delivery another worker took over is theirs to answer."""
        if isinstance(error, DeliveryTaken):
            log.info("%s was taken over by another worker", delivery_key(body))
            return
        log.error("slack delivery %s failed", delivery_key(body), exc_info=error)
        member = context.get("member")
        language = self.giving.language_of(None, member if isinstance(member, Member) else None)
        await self._apologise(body, language)

    async def _apologise(self, body: dict[str, Any], language: str) -> None:
        """The one short apology, at the request's response URL when it has one of Slack's
        (an apology that cannot be delivered is only logged, never a second failure)."""
        answer = self.responses.to(body.get("response_url"))
        if answer is None:
            return
        try:
            await answer(self.giving.text(language, Line("error.unexpected")))
        except Exception:
            log.warning("could not apologise at the response URL", exc_info=True)

    async def on_kudos(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        """/kudos: give, or balance, leaderboard, rewards, redeem, award."""
        await ack()
        key, member = admitted(context)
        answer = self.responses.to(command.get("response_url")) or respond
        await self.kudos_command.handle(command, answer, key, member)

    async def on_loyalty(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        """/loyalty <command>: the shared member commands (`/loyalty /balance` works too)."""
        await ack()
        text = str(command.get("text") or "").strip()
        text = text.removeprefix("/").strip() or "help"
        key, member = admitted(context)
        await self._run(
            str(command["user_id"]),
            "/" + text,
            key,
            member,
            self.responses.to(command.get("response_url")) or respond,
        )

    async def on_button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        """A tapped button runs its command as the person who tapped it (a nonce keeps it once).

        A button on the Home tab has no response URL: its answer (e.g. the redeem confirmation)
        arrives as a direct message, whose own buttons then answer in place.
        """
        await ack()
        user_id = str(body["user"]["id"])
        answer: Respond = DirectMessage(client, user_id)
        if respond is not None and body.get("response_url"):
            answer = self.responses.to(body["response_url"]) or respond
        key, member = admitted(context)
        await self._run(user_id, str(action.get("value") or ""), key, member, answer)

    async def on_link(self, ack: AsyncAck) -> None:
        """A link button opened its page in the browser; Slack only wants the tap acknowledged."""
        await ack()

    async def _run(
        self, user_id: str, line: str, key: str, member: Member | None, respond: Respond
    ) -> None:
        person = await self.people.person(user_id, member)
        request = ChatRequest.parse(identity_of(person), line, key)
        if request is not None:
            await self.kudos_command.run(respond, request, person, member or person.member)

    async def on_message(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """`+5 @ana thanks #teamwork`: a gift to each person mentioned."""
        if event.get("subtype") not in _GIVING_SUBTYPES or event.get("bot_id"):
            return
        text = str(event.get("text") or "")
        # Not a command to the bot: a message it cannot read is simply not a gift.
        request = plus_message(text) if line_problem(text) is None else None
        if request is None and event.get("channel_type") == "im" and event.get("user"):
            await self._direct_message(str(event["user"]), text, client, context)
            return
        if request is None or not event.get("user"):
            return
        key, member = admitted(context)
        place = place_of(event.get("channel"), channel_type=event.get("channel_type"))
        outcome = await self.giving.give(str(event["user"]), request, key, member, place)
        channel = str(event["channel"])
        for receiver, result in outcome.new_gifts:
            text = self.giving.announcement(outcome.giver, receiver, result)
            await self.channels.wait(channel)
            await client.chat_postMessage(
                channel=channel, text=text, thread_ts=event.get("thread_ts")
            )
        await self._ephemeral(client, channel, event["user"], self.giving.private_reply(outcome))

    async def _direct_message(
        self, user_id: str, text: str, client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """A direct message from staff that is no gift: the next step of a conversation (a
        broadcast composed step by step). Anything else stays unanswered, as direct messages
        always were here (the router's hint towards the commands is not sent)."""
        key, member = admitted(context)
        if member is None or member.role < Role.STAFF or line_problem(text) is not None:
            return
        person = await self.people.person(user_id)
        request = ChatRequest.read(identity_of(person), text, key)
        answer = DirectMessage(client, user_id)
        await self.kudos_command.run(answer, request, person, member, frozenset({"free_text"}))

    async def on_reaction_added(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """A configured emoji on a colleague's message gives its points; a bot's or an app's
        reaction gives nothing (the outcome is empty, so there is no answer either)."""
        points, key = self._reaction(event)
        if points is None or not event.get("item_user"):
            return
        request = GiftRequest((str(event["item_user"]),), points, f":{event['reaction']}:")
        _, member = admitted(context)
        place = place_of((event.get("item") or {}).get("channel"))
        outcome = await self.giving.give(str(event["user"]), request, key, member, place)
        if outcome.refusals or outcome.new_gifts:
            channel = str(event["item"]["channel"])
            text = self.giving.private_reply(outcome)
            await self._ephemeral(client, channel, str(event["user"]), text)

    async def on_reaction_removed(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """Removing the emoji takes back exactly the gift it made (a bot's: nothing to take)."""
        points, key = self._reaction(event)
        if points is None or not event.get("item_user"):
            return
        giver = await self.people.person(str(event["user"]))
        if giver.member_id is None:
            return
        receiver = await self.people.person(str(event["item_user"]))
        gift_key = f"{key}:{receiver.user_id}"
        result = await asyncio.to_thread(self.giving.kudos.revoke, gift_key, giver.member_id)
        if result is not None and not result.duplicate:
            _, member = admitted(context)
            language = self.giving.language_of(giver, member)
            line = Line("kudos.revoked", {"points": result.gift.points, "name": receiver.name})
            text = self.giving.text(language, line)
            await self._ephemeral(client, str(event["item"]["channel"]), giver.user_id, text)

    async def on_home_opened(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """Publish the person's Home tab with fresh numbers, in their language."""
        if event.get("tab") not in (None, "home"):
            return
        person = await self.people.person(str(event["user"]))
        _, member = admitted(context)
        view = await self.standing.home_view(person, self.giving.language_of(person, member))
        await client.views_publish(user_id=person.user_id, view=view)

    def _reaction(self, event: dict[str, Any]) -> tuple[int | None, str]:
        rules = self.giving.kudos.program.recognition
        points = rules.reactions.get(str(event.get("reaction"))) if rules else None
        item = event.get("item") or {}
        parts = (item.get("channel"), item.get("ts"), event.get("user"), event.get("reaction"))
        return points, "slack:reaction:" + ":".join(str(part) for part in parts)

    async def _ephemeral(self, client: AsyncWebClient, channel: str, user: str, text: str) -> None:
        if text:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)


def build_app(
    token: str,
    signing_secret: str,
    api_url: str,
    rate_limited: Callable[[], None] | None = None,
) -> AsyncApp:
    """The bolt app on our Web API client, refusing other workspaces' requests first;
    `auth.test` runs on its first request. Listeners are registered by the caller.

    Bolt never checks signatures here: over HTTP `bot.slack.gate` does before bolt runs, and
    Socket Mode deliveries are not signed.
    """
    app = AsyncApp(token=token, signing_secret=signing_secret or "-",
                   request_verification_enabled=False)  # fmt: skip
    configure_client(app.client, api_url, rate_limited)
    app.use(WorkspaceGuard(app.client))
    return app
