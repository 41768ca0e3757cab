"""The fake Slack Web API and the signing helpers, exercised with the real slack-sdk and bolt."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import slack_signing as ss
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"


def web_client(fake: FakeSlackApi, **kwargs: Any) -> AsyncWebClient:
    """A real AsyncWebClient talking to the fake."""
    return AsyncWebClient(token=TOKEN, base_url=fake.api_url, **kwargs)


# ---------------------------------------------------------------------- Web API


async def test_post_message_is_recorded(fake_slack: FakeSlackApi) -> None:
    client = web_client(fake_slack)
    first = await client.chat_postMessage(channel="C1", text="hello")
    second = await client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])

    assert first["ok"] is True
    assert first["channel"] == "C1"
    assert first["ts"] == "1700000000.000100"
    assert second["ts"] == "1700000000.000200"
    assert first["message"]["text"] == "hello"
    [call, _] = fake_slack.calls_to("chat.postMessage")
    assert call.params == {"channel": "C1", "text": "hello"}
    assert call.token == TOKEN
    assert [m["text"] for m in fake_slack.posted_messages("C1")] == ["hello", "again"]
    assert fake_slack.posted_messages("C2") == []


async def test_base_url_is_normalised_but_must_contain_api(fake_slack: FakeSlackApi) -> None:
    # slack-sdk 3.47 appends the missing trailing slash itself ...
    ok = AsyncWebClient(token=TOKEN, base_url=f"{fake_slack.url}/api")
    assert (await ok.auth_test())["user_id"] == "UBOT"
    # ... but a base_url without /api/ posts to /auth.test, which the fake answers with 404.
    wrong = AsyncWebClient(token=TOKEN, base_url=fake_slack.url)
    with pytest.raises(SlackApiError) as excinfo:
        await wrong.auth_test()
    assert excinfo.value.response.status_code == 404


async def test_auth_and_lookup_methods(fake_slack: FakeSlackApi) -> None:
    client = web_client(fake_slack)
    fake_slack.add_user("U1", "alice", tz="Europe/Istanbul")

    auth = await client.auth_test()
    assert (auth["user"], auth["user_id"], auth["bot_id"]) == ("loyaltybot", "UBOT", "BBOT")
    assert auth["team_id"] == "T1"

    user = (await client.users_info(user="U1"))["user"]
    assert (user["id"], user["name"], user["is_bot"]) == ("U1", "alice", False)
    assert (user["tz"], user["tz_offset"]) == ("Europe/Istanbul", 3 * 3600)
    with pytest.raises(SlackApiError) as excinfo:
        await client.users_info(user="UNKNOWN")
    assert excinfo.value.response["error"] == "user_not_found"

    dm = await client.conversations_open(users="U1")
    assert dm["channel"]["id"] == "DU1"


async def test_message_view_and_reaction_methods(fake_slack: FakeSlackApi) -> None:
    client = web_client(fake_slack)
    posted = await client.chat_postMessage(channel="U1", text="to a user")
    assert posted["channel"] == "DU1"
    assert len(fake_slack.posted_messages("U1")) == 1

    updated = await client.chat_update(channel="DU1", ts=posted["ts"], text="edited")
    assert updated["message"]["text"] == "edited"
    with pytest.raises(SlackApiError):
        await client.chat_update(channel="DU1", ts="1.000000", text="nope")

    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert "message_ts" in ephemeral

    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    published = await client.views_publish(user_id="U1", view=view)
    assert published["view"]["id"].startswith("V")
    assert fake_slack.published_views["U1"] == view

    await client.reactions_add(channel="C1", name="tada", timestamp=posted["ts"])
    assert fake_slack.calls_to("reactions.add")[0].params["name"] == "tada"

    unknown = await client.api_call("bookmarks.add", json={"channel_id": "C1"})
    assert unknown["ok"] is True
    assert fake_slack.calls_to("bookmarks.add")[0].params == {"channel_id": "C1"}


async def test_missing_token_is_not_authed(fake_slack: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await AsyncWebClient(base_url=fake_slack.api_url).auth_test()
    assert excinfo.value.response["error"] == "not_authed"


async def test_429_is_surfaced_as_slack_api_error(fake_slack: FakeSlackApi) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        await web_client(fake_slack).chat_postMessage(channel="C1", text="hi")

    response = excinfo.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "7"
    assert fake_slack.too_many_requests == 1
    assert fake_slack.posted_messages() == []


async def test_429_is_retried_with_rate_limit_handler(fake_slack: FakeSlackApi) -> None:
    # The handler sleeps Retry-After + random() seconds, so retry_after=0 keeps this under 1 s.
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)
    client = web_client(fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler()])

    response = await client.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake_slack.posted_messages("C1")) == 1


async def test_channel_rate_is_enforced_per_channel(fake_slack: FakeSlackApi) -> None:
    fake_slack.enforce_channel_rate(per_sec=1)
    client = web_client(fake_slack)
    await client.chat_postMessage(channel="C1", text="one")
    await client.chat_postMessage(channel="C2", text="other channel")
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel="C1", text="too fast")

    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "1"
    assert fake_slack.too_many_requests == 1
    assert len(fake_slack.posted_messages()) == 2


async def test_wait_for_times_out_with_the_calls_listed(fake_slack: FakeSlackApi) -> None:
    await web_client(fake_slack).auth_test()
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"auth\.test"):
        await fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage"), timeout=0.2)
    assert time.monotonic() - started < 2


async def test_wait_for_wakes_up_on_a_call(fake_slack: FakeSlackApi) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await web_client(fake_slack).chat_postMessage(channel="C9", text="late")

    task = asyncio.create_task(post_later())
    messages = await fake_slack.wait_for(lambda: fake_slack.posted_messages("C9"))
    await task
    assert messages[0]["text"] == "late"


def test_run_in_thread_with_sync_client_and_wait_for_sync() -> None:
    with FakeSlackApi.run_in_thread() as fake:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        worker = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="x"))
        worker.start()
        [call] = fake.wait_for_call_sync("chat.postMessage")
        worker.join()
        assert call.params["text"] == "x"
        with pytest.raises(AssertionError):
            fake.wait_for_sync(lambda: fake.calls_to("views.publish"), timeout=0.1)


async def test_async_wait_for_on_a_fake_in_another_thread() -> None:
    with FakeSlackApi.run_in_thread() as fake:
        await AsyncWebClient(token=TOKEN, base_url=fake.api_url).chat_postMessage(
            channel="C1", text="cross-loop"
        )
        calls = await fake.wait_for_call("chat.postMessage")
        assert calls[0].params["text"] == "cross-loop"


async def test_wait_for_sync_refuses_to_block_its_own_loop(fake_slack: FakeSlackApi) -> None:
    with pytest.raises(RuntimeError):
        fake_slack.wait_for_sync(lambda: True)


# ---------------------------------------------------------------------- signing helpers


def test_signature_matches_slack_sdk_verifier() -> None:
    body = ss.slash_command_body(text="@bob 5")
    now = int(time.time())
    signed = ss.headers(SECRET, body, timestamp=now, retry_num=1)

    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, signed["X-Slack-Request-Timestamp"], signed["X-Slack-Signature"])
    assert signed["Content-Type"] == "application/x-www-form-urlencoded"
    assert (signed["X-Slack-Retry-Num"], signed["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert ss.headers(SECRET, ss.event_body({"type": "x"}))["Content-Type"] == "application/json"


# ---------------------------------------------------------------------- bolt end to end


class BoltHarness:
    """A real AsyncApp behind the Starlette adapter, reached through httpx's ASGITransport."""

    def __init__(self, fake: FakeSlackApi) -> None:
        self.app = AsyncApp(signing_secret=SECRET, client=web_client(fake))
        handler = AsyncSlackRequestHandler(self.app)

        async def endpoint(request: Request) -> Response:
            return await handler.handle(request)

        self.asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.asgi), base_url="http://testserver"
        )

    async def post(self, body: bytes, **header_kwargs: Any) -> httpx.Response:
        """POST ``body`` to /slack/events, signed with ``SECRET`` unless headers say otherwise."""
        return await self.http.post(
            "/slack/events", content=body, headers=ss.headers(SECRET, body, **header_kwargs)
        )


@pytest.fixture
async def bolt(fake_slack: FakeSlackApi) -> AsyncIterator[BoltHarness]:
    """A bolt app with /kudos, a "hello" message listener and an "approve" button action."""
    harness = BoltHarness(fake_slack)

    @harness.app.command("/kudos")
    async def kudos(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(text=f"Kudos noted: {command['text']}")

    @harness.app.message("hello")
    async def hello(message: dict[str, Any], say: AsyncSay) -> None:
        await say(f"hi <@{message['user']}>")

    @harness.app.action("approve")
    async def approve(ack: AsyncAck, respond: AsyncRespond, action: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"approved {action['value']}", replace_original=True)

    async with harness.http:
        yield harness


async def test_signed_slash_command_is_acked_with_text(
    bolt: BoltHarness, fake_slack: FakeSlackApi
) -> None:
    response = await bolt.post(ss.slash_command_body(text="@bob 5 thanks"))

    assert response.status_code == 200
    # ack(text=...) alone is answered as a plain-text body, not as JSON {"text": ...}.
    assert response.text == "Kudos noted: @bob 5 thanks"
    assert response.headers["content-type"].startswith("text/plain")
    # AsyncApp calls auth.test lazily, on the first request that needs authorization.
    assert len(fake_slack.calls_to("auth.test")) == 1


async def test_bad_signature_is_refused(bolt: BoltHarness, fake_slack: FakeSlackApi) -> None:
    body = ss.slash_command_body(text="x")
    signed = ss.headers("wrong-secret", body)
    response = await bolt.http.post("/slack/events", content=body, headers=signed)

    assert response.status_code == 401
    assert fake_slack.calls == []  # refused before authorization: no auth.test


async def test_stale_timestamp_is_refused(bolt: BoltHarness) -> None:
    response = await bolt.post(ss.slash_command_body(text="x"), timestamp=int(time.time()) - 301)
    assert response.status_code == 401


async def test_message_event_triggers_post_message(
    bolt: BoltHarness, fake_slack: FakeSlackApi
) -> None:
    event = ss.message_event(channel="C1", user="U1", text="hello there")
    response = await bolt.post(ss.event_body(event, "Ev001"))
    assert response.status_code == 200

    [message] = await fake_slack.wait_for(lambda: fake_slack.posted_messages("C1"))
    assert message["text"] == "hi <@U1>"


async def test_block_action_respond_reaches_response_url(
    bolt: BoltHarness, fake_slack: FakeSlackApi
) -> None:
    body = ss.block_action_body(
        "U1", "approve", "r42", response_url=fake_slack.response_url("act1")
    )
    response = await bolt.post(body)
    assert response.status_code == 200

    [posted] = await fake_slack.wait_for(lambda: fake_slack.responses_to("act1"))
    assert posted["text"] == "approved r42"
    assert posted["replace_original"] is True


async def test_failed_auth_test_is_answered_200_and_retried_next_request(
    bolt: BoltHarness, fake_slack: FakeSlackApi
) -> None:
    fake_slack.fail_next("auth.test", status=200, error="invalid_auth")

    refused = await bolt.post(ss.slash_command_body(text="x"))
    # bolt answers an authorization failure with 200 and an apology text, not an error status
    assert refused.status_code == 200
    assert "reinstall" in refused.text

    accepted = await bolt.post(ss.slash_command_body(text="y"))
    assert accepted.text == "Kudos noted: y"
    assert [c.ok for c in fake_slack.calls_to("auth.test")] == [False, True]
