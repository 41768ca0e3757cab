"""/slack/events as an attacker and a clumsy client would use it (issue points 1, 4, 5, 6, 12
and 13): the signature first, then the body, then the workspace; the bot only ever posts to
Slack's own hosts."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.outbox.senders import Destination, RetryLater, Unreachable
from bot.replies import Reply
from bot.settings import Settings
from bot.slack.app import ResponseUrls, web_client
from bot.slack.component import SlackComponent
from bot.slack.gate import SlackHosts
from bot.slack.sender import SlackSender
from tests.adapters.slack_support import SECRET, TOKEN, SlackHarness, program_file, running_slack
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def bot(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    async with running_slack(fake_slack, tmp_path, NOW) as harness:
        yield harness


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeSlackApi]:
    """A server that is not Slack: where an attacker would like the bot to post."""
    async with FakeSlackApi() as other:
        yield other


def kudos(response_url: str, text: str = "<@UBEA> 5 thanks", **fields: str) -> bytes:
    return s.slash_command_body("/kudos", text, user_id="UALI", response_url=response_url, **fields)


def nothing_went_out(*fakes: FakeSlackApi) -> bool:
    return all(not fake.calls and not fake.responses for fake in fakes)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "abc"},
        {"X-Slack-Request-Timestamp": "1e3"},
        {"X-Slack-Request-Timestamp": ""},
        {"X-Slack-Request-Timestamp": str(int(time.time()) - 3600)},
        {"X-Slack-Request-Timestamp": str(int(time.time()) + 3600)},
        {"X-Slack-Request-Timestamp": "9" * 40},
        {"X-Slack-Signature": ""},
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Signature": "v1=abc"},
    ],
)
async def test_an_unsigned_request_gets_401_and_nothing_runs(
    bot: SlackHarness, elsewhere: FakeSlackApi, headers: dict[str, str]
) -> None:
    body = kudos(elsewhere.response_url("ssrf"))
    signed = s.headers(SECRET, body)
    response = await bot.http.post("/slack/events", content=body, headers={**signed, **headers})
    assert response.status_code == 401
    assert nothing_went_out(bot.fake, elsewhere)
    assert await bot.available("UBEA") == 0


async def test_answers_go_only_to_slacks_host(bot: SlackHarness, elsewhere: FakeSlackApi) -> None:
    urls = (
        elsewhere.response_url("x"),
        "http://169.254.169.254/latest/meta-data/",
        bot.fake.url.replace("127.0.0.1", "user@127.0.0.1") + "/response_url/y",
    )
    for url in urls:
        response = await bot.post(kudos(url))
        assert response.status_code == 400
        assert "response_url" in response.text
    assert nothing_went_out(bot.fake, elsewhere)
    hosts = SlackHosts("https://slack.com/api/")
    assert hosts.allows("https://hooks.slack.com/commands/T1/1/abc")
    assert not hosts.allows("https://hooks.slack.com.evil.test/commands")
    assert not hosts.allows("http://hooks.slack.com/commands")
    responses = ResponseUrls(SlackHosts(bot.fake.api_url))
    answer = responses.to(elsewhere.response_url("z"))
    assert answer is not None
    await answer("hello")  # dropped, never posted
    await responses.close()
    assert not elsewhere.responses


@pytest.mark.parametrize("field", ["team_id", "api_app_id"])
async def test_a_request_from_another_workspace_is_refused(bot: SlackHarness, field: str) -> None:
    response = await bot.post(kudos(bot.fake.response_url("foreign"), **{field: "X2"}))
    assert response.status_code == 403
    event = s.event_body(s.message_event("C1", "UALI", "+5 <@UBEA> hi"), team_id="X2")
    assert (await bot.post(event)).status_code == 403
    assert await bot.available("UBEA") == 0
    assert {c.method for c in bot.fake.calls} == {"auth.test"}  # who we are, nothing else
    assert not bot.fake.responses


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (b"{not json", "application/json", "not a JSON object"),
        (b"[1, 2]", "application/json", "not a JSON object"),
        (b"null", "application/json", "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "not a JSON object"),
        (b"payload=notjson", FORM, "not a JSON object"),
        (b"payload=%5B%5D", FORM, "not a JSON object"),
        (b"", FORM, "empty"),
        (b"\xff\xfe\x00text=hi", FORM, "not UTF-8"),
        (b"text=hi", "text/plain", "content type"),
        (
            b'{"type": "event_callback", "event_id": "' + b"E" * 500 + b'"}',
            "application/json",
            "event_id",
        ),
    ],
)
async def test_a_signed_request_that_is_not_slacks_gets_400(
    bot: SlackHarness, body: bytes, content_type: str, why: str
) -> None:
    response = await bot.post(body, content_type=content_type)
    assert response.status_code == 400
    assert why in response.text
    assert nothing_went_out(bot.fake)


async def test_a_10_mb_command_is_refused_before_it_is_read(bot: SlackHarness) -> None:
    body = kudos(bot.fake.response_url("big"), "<@UBEA> 5 " + "a" * 10_000_000)
    response = await bot.post(body)
    assert response.status_code == 413
    assert nothing_went_out(bot.fake)
    assert await bot.available("UBEA") == 0


async def test_a_command_over_the_line_limit_is_told_so(bot: SlackHarness) -> None:
    await bot.command("UALI", "<@UBEA> 5 " + "a" * 5000, "long")
    (answer,) = await bot.replies("long", 1)
    assert answer == "That message is too long for me: at most 4,096 characters. Send it shorter."
    assert await bot.available("UBEA") == 0


@pytest.mark.parametrize("points", ["-5", "99999999999999999999", "1e3", "٥"])
async def test_kudos_points_are_a_number_the_gift_can_be(bot: SlackHarness, points: str) -> None:
    await bot.command("UALI", f"<@UBEA> {points} hi", "pts")
    (answer,) = await bot.replies("pts", 1)
    assert answer == f"A gift is 1 to 20 points; {points} is not possible."
    assert await bot.available("UBEA") == 0


async def test_a_command_whose_text_says_payload_is_still_a_command(bot: SlackHarness) -> None:
    # bolt alone reads any form body containing "payload" as an empty request
    await bot.command("UALI", "<@UBEA> 2 shipped the payload #teamwork", "payload")
    public, _ = await bot.replies("payload", 2)
    assert "received 2 points" in public


async def test_the_sender_copes_with_answers_that_are_not_slacks_json(
    bot: SlackHarness,
) -> None:
    fake = bot.fake
    sender = SlackSender(web_client(TOKEN, fake.api_url), bot.services.renderer)
    ali, hi = Destination(chat="UALI", person=True), Reply.say("free_text")
    fake.fail_next("conversations.open", status=502, page="<html>Bad gateway</html>")
    with pytest.raises(RetryLater) as later:
        await sender.send(ali, hi, "en")
    assert later.value.seconds == 30.0
    fake.fail_next("conversations.open", status=404, page="<html>Not found</html>")
    with pytest.raises(RuntimeError, match="HTTP 404 without JSON"):
        await sender.send(ali, hi, "en")
    fake.fail_next("chat.postMessage", status=429, retry_after="soon", page="<p>slow</p>")
    await sender.send(ali, hi, "en")  # waited a second, then sent
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


async def test_a_persons_direct_messages_open_their_conversation_once(
    bot: SlackHarness,
) -> None:
    fake = bot.fake
    sender = SlackSender(web_client(TOKEN, fake.api_url), bot.services.renderer)
    ali, hi = Destination(chat="UALI", person=True), Reply.say("free_text")
    await sender.send(ali, hi, "en")
    await sender.send(ali, hi, "en")
    assert len(fake.calls_to("conversations.open")) == 1
    assert len(fake.calls_to("chat.postMessage")) == 2
    fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
    with pytest.raises(Unreachable):
        await sender.send(ali, hi, "en")
    await sender.send(ali, hi, "en")  # a failed send opens it afresh
    assert len(fake.calls_to("conversations.open")) == 2


async def test_no_warning_is_logged_at_a_slack_start(
    fake_slack: FakeSlackApi,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)  # as `loyalty run` has it: bolt reads it too
    for extra in ({"slack_signing_secret": SECRET}, {"slack_app_token": "xapp-1-test-app-token"}):
        settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'w.db'}",  # type: ignore[call-arg]
                            loyalty_program=program_file(tmp_path), slack_bot_token=TOKEN,
                            slack_api_url=fake_slack.api_url, **extra)  # fmt: skip
        services = build(settings)
        with caplog.at_level(logging.WARNING):
            component = SlackComponent(services)
            await component.start()
            await component.stop()
        services.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_socket_mode_refuses_another_workspace_too(
    fake_slack: FakeSlackApi, tmp_path: Path
) -> None:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'sm.db'}",
        loyalty_program=program_file(tmp_path),
        slack_bot_token=TOKEN,
        slack_app_token="xapp-1-test-app-token",
        slack_api_url=fake_slack.api_url,
    )
    services = build(settings)
    component = SlackComponent(services)
    await component.start()
    try:
        for team, text in (("X2", "+5 <@UBEA> from afar"), ("T1", "+1 <@UBEA> sentinel")):
            envelope = json.loads(s.event_body(s.message_event("C1", "UALI", text), team_id=team))
            await fake_slack.push_envelope("events_api", envelope)
        (post,) = await fake_slack.wait_for(lambda: fake_slack.posted_messages("C1"))
        assert "sentinel" in post["text"]
        bea = services.loyalty.identify("slack", "UBEA")
        assert bea is not None and services.loyalty.balance(bea.id).available == 1
    finally:
        await component.stop()
        services.close()
