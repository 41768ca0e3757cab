"""Generated bodies for /telegram/webhook and /slack/events: shapes, sizes, encodings,
signatures and timestamps. Never a 500; never an outbound request for an unauthenticated
one (a wrong Telegram secret, an unsigned or badly signed Slack request)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.http_limits import MAX_BODY_BYTES
from tests.adapters.slack_support import SECRET as SLACK_SECRET
from tests.adapters.slack_support import SlackHarness, running_slack
from tests.adapters.telegram_support import SECRET as TELEGRAM_SECRET
from tests.adapters.telegram_support import Harness, webhook_client
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import make_callback_update, make_command_update
from tests.hostile.strategies import chat_lines, encoded, encodings, json_values

pytest_plugins = [
    "tests.fakes.fixtures",
    "tests.fakes.slack_fixtures",
    "tests.adapters.telegram_fixtures",
]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HUGE = b"x" * (MAX_BODY_BYTES + 1)


@pytest.fixture
async def slack(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[SlackHarness]:
    fake_slack.add_user("UALI", "ali")
    fake_slack.add_user("UBEA", "bea")
    async with running_slack(fake_slack, tmp_path, datetime(2026, 11, 22, tzinfo=UTC)) as harness:
        yield harness


@st.composite
def telegram_bodies(draw: st.DrawFn) -> bytes:
    """What arrives at the webhook: updates (odd text included), JSON of any shape, bytes."""
    kind = draw(st.sampled_from(["command", "tap", "json", "bytes", "huge"]))
    user = draw(st.integers(min_value=1, max_value=5))
    if kind == "command":
        update = make_command_update(draw(st.integers(1, 10**9)), user, draw(chat_lines) or "/x")
        return encoded(update, draw(encodings))
    if kind == "tap":
        update = make_callback_update(draw(st.integers(1, 10**9)), user, draw(chat_lines))
        return encoded(update, draw(encodings))
    if kind == "json":
        return encoded(draw(json_values), draw(encodings))
    return HUGE if kind == "huge" else draw(st.binary(max_size=300))


@FUZZ
@given(body=telegram_bodies(), secret=st.sampled_from(["right", "right", "wrong", "none"]))
async def test_telegram_webhook_bodies(hooked: Harness, body: bytes, secret: str) -> None:
    given = {"right": TELEGRAM_SECRET, "wrong": "wrong"}.get(secret)
    headers = {} if given is None else {"X-Telegram-Bot-Api-Secret-Token": given}
    calls = len(hooked.fake.calls)
    async with webhook_client(hooked) as http:
        response = await http.post("/telegram/webhook", content=body, headers=headers)
    assert response.status_code in (200, 400, 403, 413)
    if secret != "right":
        assert response.status_code in (403, 413)
        assert len(hooked.fake.calls) == calls


@st.composite
def slack_requests(draw: st.DrawFn, fake: FakeSlackApi) -> tuple[bytes, str]:
    """A body Slack (or not Slack) might send, and its content type."""
    kind = draw(st.sampled_from(["command", "event", "action", "json", "form", "bytes", "huge"]))
    url = draw(st.sampled_from([fake.response_url("f"), "http://127.0.0.1:9/elsewhere", ""]))
    text = draw(chat_lines)
    # A form is UTF-8 on the wire: broken surrogates cannot be sent in one (JSON escapes them).
    form_text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if kind == "command":
        command = draw(st.sampled_from(["/kudos", "/loyalty", "/other"]))
        team = draw(st.sampled_from(["T1", "T1", "X2"]))
        body = s.slash_command_body(
            command, form_text, user_id="UALI", response_url=url, team_id=team
        )
        return body, "application/x-www-form-urlencoded"
    if kind == "event":
        event = draw(st.sampled_from([s.message_event("C1", "UALI", text),
                                      s.reaction_added_event("UALI", "star", "C1", "1.2", "UBEA"),
                                      s.app_home_opened_event("UALI")]))  # fmt: skip
        if draw(st.booleans()):  # fields Slack never sends like this
            fields = st.sampled_from(["text", "user", "item", "channel", "ts", "reaction"])
            event = {**event, **draw(st.dictionaries(fields, json_values))}
        return s.event_body(event), "application/json"
    if kind == "action":
        body = s.block_action_body(
            "UALI", "run:x", text, response_url=url or fake.response_url("a")
        )
        return body, "application/x-www-form-urlencoded"
    if kind == "json":
        return encoded(draw(json_values), draw(encodings)), "application/json"
    if kind == "form":
        fields = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5))
        return s.form_body(fields), "application/x-www-form-urlencoded"
    if kind == "huge":
        return HUGE, "application/json"
    return draw(st.binary(max_size=300)), draw(st.sampled_from(["application/json", "text/plain"]))


def _signature_headers(body: bytes, how: str, timestamp: str) -> dict[str, str]:
    if how == "signed":
        return s.sign(SLACK_SECRET, body, int(time.time()))
    if how == "stale":
        return s.sign(SLACK_SECRET, body, int(time.time()) - 600)
    if how == "odd timestamp":
        return {"X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": s.signature(SLACK_SECRET, body, 0)}  # fmt: skip
    if how == "wrong secret":
        return s.sign("not-the-secret", body, int(time.time()))
    return {}


@FUZZ
@given(
    data=st.data(),
    how=st.sampled_from(
        ["signed", "signed", "signed", "stale", "odd timestamp", "wrong secret", "none"]
    ),
    timestamp=st.sampled_from(["abc", "1e3", "", "-1", "9" * 30, " 1", "１"]),
)
async def test_slack_event_bodies(
    slack: SlackHarness, data: st.DataObject, how: str, timestamp: str
) -> None:
    body, content_type = data.draw(slack_requests(slack.fake))
    raw = {"Content-Type": content_type, **_signature_headers(body, how, timestamp)}
    headers = {name: value.encode() for name, value in raw.items()}  # "１" is not ASCII
    calls, answers = len(slack.fake.calls), len(slack.fake.responses)
    response = await slack.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code in (200, 400, 401, 403, 404, 413), response.text
    if how != "signed":
        assert response.status_code in (401, 413)
        assert (len(slack.fake.calls), len(slack.fake.responses)) == (calls, answers)
