"""Socket Mode: bolt opens a WebSocket to the fake (apps.connections.open) and acks envelopes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.bootstrap import Services, build
from bot.platforms import platform_components
from bot.settings import Settings
from bot.slack.component import SlackComponent
from tests.adapters.slack_support import TOKEN, program_file
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

pytest_plugins = ["tests.fakes.slack_fixtures"]
APP_TOKEN = "xapp-1-test-app-token"


@pytest.fixture
async def services(fake_slack: FakeSlackApi, tmp_path: Path) -> AsyncIterator[Services]:
    for user in ("UALI", "UBEA"):
        fake_slack.add_user(user, user[1:].lower())
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'socket.db'}",  # type: ignore[call-arg]
                        loyalty_program=program_file(tmp_path), slack_bot_token=TOKEN,
                        slack_app_token=APP_TOKEN, slack_api_url=fake_slack.api_url)  # fmt: skip
    built = await asyncio.to_thread(build, settings)
    try:
        yield built
    finally:
        built.close()


async def test_a_slash_command_over_socket_mode_gives_and_is_acked(
    fake_slack: FakeSlackApi, services: Services
) -> None:
    (component,) = [c for c in platform_components(services) if isinstance(c, SlackComponent)]
    assert component.routes() == []  # no /slack/events: Slack pushes over the WebSocket
    await component.start()
    try:
        (opened,) = await fake_slack.wait_for_call("apps.connections.open")
        assert opened.token == APP_TOKEN
        await fake_slack.wait_for(lambda: fake_slack.socket_connections)
        body = s.slash_command_body(
            "/kudos", "<@UBEA> 5 thanks #teamwork", user_id="UALI",
            response_url=fake_slack.response_url("sock"),
        )  # fmt: skip
        payload = dict(parse_qsl(body.decode()))
        envelope_id = await fake_slack.push_envelope("slash_commands", payload)
        (ack,) = await fake_slack.wait_for(lambda: fake_slack.acks_for(envelope_id))
        assert ack["envelope_id"] == envelope_id
        public, private = await fake_slack.wait_for(
            lambda: len(r := fake_slack.responses_to("sock")) >= 2 and r
        )
        assert "<@UBEA> received 5 points from ali for #teamwork" in public["text"]
        assert public["response_type"] == "in_channel"
        assert "45 of 50" in private["text"]
        bea = services.loyalty.identify("slack", "UBEA")
        assert bea is not None
        assert services.loyalty.balance(bea.id).available == 5
    finally:
        await component.stop()


async def test_an_event_over_socket_mode_is_acked_and_handled(
    fake_slack: FakeSlackApi, services: Services
) -> None:
    component = SlackComponent(services)
    await component.start()
    try:
        event = s.message_event("C1", "UALI", "+3 <@UBEA> nice #ownership")
        envelope = {
            "token": s.VERIFICATION_TOKEN, "team_id": "T1", "api_app_id": "A1",
            "event": event, "type": "event_callback", "event_id": s.new_event_id(),
            "event_time": 1, "authorizations": [{"user_id": "UBOT", "is_bot": True}],
        }  # fmt: skip
        envelope_id = await fake_slack.push_envelope("events_api", envelope)
        await fake_slack.wait_for(lambda: fake_slack.acks_for(envelope_id))
        (post,) = await fake_slack.wait_for(lambda: fake_slack.posted_messages("C1"))
        assert "<@UBEA> received 3 points from ali" in post["text"]
    finally:
        await component.stop()
