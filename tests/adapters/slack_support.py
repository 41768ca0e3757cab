"""The Slack adapter on a SQLite file, served through its Starlette app to signed requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bot.bootstrap import Services, build
from bot.runner import http_app
from bot.settings import EXAMPLE_PROGRAM, Settings
from bot.slack.component import SlackComponent
from core.kudos import Kudos
from tests.fakes import slack_signing
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_signing import slash_command_body

TOKEN = "xoxb-test-token"
SECRET = "slack-signing-secret"
RECOGNITION = """
[recognition]
monthly_allowance = 50
max_per_gift = 20
daily_pair_cap = 25
default_points = 1
values = ["teamwork", "ownership"]
reactions = { "taco" = 1, "star" = 3 }
"""


class MovableClock:
    """A clock the test sets."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass
class SlackHarness:
    """The bot under test, its fake Web API and helpers to act as Slack."""

    fake: FakeSlackApi
    services: Services
    http: httpx.AsyncClient
    clock: MovableClock
    component: SlackComponent

    async def post(self, body: bytes, **header_options: Any) -> httpx.Response:
        """POST a signed body to /slack/events, exactly as Slack sends it."""
        headers = slack_signing.headers(SECRET, body, **header_options)
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def event(self, event: dict[str, Any], event_id: str | None = None,
                    **header_options: Any) -> httpx.Response:  # fmt: skip
        """Deliver an Events API event; 200 expected."""
        response = await self.post(slack_signing.event_body(event, event_id), **header_options)
        assert response.status_code == 200, response.text
        return response

    async def command(self, user: str, text: str, reply_id: str) -> None:
        """Run `/kudos text` as `user`; answers go to the response URL `reply_id`."""
        body = slash_command_body(
            "/kudos", text, user_id=user, response_url=self.fake.response_url(reply_id)
        )
        response = await self.post(body)  # fmt: skip
        assert response.status_code == 200, response.text

    async def loyalty(self, user: str, text: str, reply_id: str) -> None:
        """Run `/loyalty text` as `user`; answers go to the response URL `reply_id`."""
        body = slash_command_body(
            "/loyalty", text, user_id=user, response_url=self.fake.response_url(reply_id)
        )
        response = await self.post(body)
        assert response.status_code == 200, response.text

    async def replies(self, reply_id: str, count: int) -> list[str]:
        """The texts of the first `count` answers posted to response URL `reply_id`."""
        bodies = await self.fake.wait_for(
            lambda: (r := self.fake.responses_to(reply_id)) and len(r) >= count and r
        )
        return [str(body.get("text", "")) for body in bodies]

    async def ephemerals(self, user: str, count: int) -> list[str]:
        """Texts of the first `count` ephemeral messages to `user`."""

        def found() -> list[str]:
            calls = [
                c for c in self.fake.calls_to("chat.postEphemeral") if c.params["user"] == user
            ]
            return [str(c.params["text"]) for c in calls] if len(calls) >= count else []

        return await self.fake.wait_for(found)

    async def available(self, user: str) -> int:
        """The points `user` can spend (0 when not a member)."""
        loyalty = self.services.loyalty
        member = await asyncio.to_thread(loyalty.identify, "slack", user)
        if member is None:
            return 0
        return (await asyncio.to_thread(loyalty.balance, member.id)).available

    def kudos(self) -> Kudos:
        return Kudos(self.services.database, self.services.program, self.clock)


def program_file(tmp: Path) -> Path:
    """The example program without a sign-up bonus, its recognition section replaced by ours
    (its gamification sections kept, less the sign-up limit)."""
    path = tmp / "program.toml"
    example, _, rest = EXAMPLE_PROGRAM.read_text(encoding="utf-8").partition("\n[recognition]\n")
    assert "\nsignup = 25\n" in example and '\nsignup = "once"\n' in rest
    games = "\n[guardrails]\n" + rest.partition("\n[guardrails]\n")[2].replace(
        '\nsignup = "once"', ""
    )
    path.write_text(
        example.replace("\nsignup = 25\n", "\n") + RECOGNITION + games, encoding="utf-8"
    )
    return path


@asynccontextmanager
async def running_slack(
    fake: FakeSlackApi, tmp: Path, now: datetime, admins: str = ""
) -> AsyncIterator[SlackHarness]:
    """Build the app from settings with a movable clock and serve it in-process."""
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp / 'loyalty.db'}",  # type: ignore[call-arg]
                        loyalty_program=program_file(tmp), slack_bot_token=TOKEN,
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url,
                        loyalty_admins=admins)  # fmt: skip
    clock = MovableClock(now)
    services = await asyncio.to_thread(build, settings, clock)
    component = SlackComponent(services)
    transport = httpx.ASGITransport(app=http_app([component]))
    async with httpx.AsyncClient(transport=transport, base_url="http://slack.test") as http:
        try:
            yield SlackHarness(fake, services, http, clock, component)
        finally:
            await component.stop()
            services.close()
