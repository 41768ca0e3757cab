"""The load balancer in front of the workers, playing the platforms' delivery rules.

Every request is a `Delivery` with a key of its own. The balancer sends it to a live worker
chosen at random; a delivery that gets no 2xx (an error, a timeout, a worker that died
under it) goes again to another worker, as Telegram re-delivers an unacknowledged update
and Slack retries an event (then with `X-Slack-Retry-Num`), and as a till retries a
purchase it has no answer for. Slack does not retry slash commands, so neither does this.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from tests.api_support import signed
from tests.fakes import slack_signing
from tests.faults.cluster import WEBHOOK_SECRET, Worker

TELEGRAM_PATH = "/telegram/webhook"
SLACK_PATH = "/slack/events"
# Long enough for a slow platform answer inside a command; a worker that hangs longer is
# treated like one that did not answer.
REQUEST_TIMEOUT = 10.0


class Kind(StrEnum):
    """Who sends a delivery, and so how it is signed and whether it is retried."""

    TELEGRAM = "telegram"
    SLACK_EVENT = "slack event"
    SLACK_COMMAND = "slack command"
    PURCHASE = "api purchase"
    REFUND = "api refund"


PATHS = {
    Kind.TELEGRAM: TELEGRAM_PATH,
    Kind.SLACK_EVENT: SLACK_PATH,
    Kind.SLACK_COMMAND: SLACK_PATH,
    Kind.PURCHASE: "/api/v1/purchases",
    Kind.REFUND: "/api/v1/refunds",
}


@dataclass(kw_only=True)
class Delivery:
    """One update, event, command or API call, and what happened to each attempt."""

    kind: Kind
    key: str  # unique across the run: the update id, event id, receipt or refund id
    body: bytes
    # What the database must show exactly once when it was handled: ("journal", key) or
    # ("gift", token); None for reads, which change nothing.
    effect: tuple[str, str] | None = None
    statuses: list[int | str] = field(default_factory=list)
    acked_at: float | None = None

    @property
    def acked(self) -> bool:
        """Whether some worker acknowledged it (2xx)."""
        return self.acked_at is not None

    @property
    def redelivered(self) -> bool:
        """Whether it was sent more than once."""
        return len(self.statuses) > 1


class Balancer:
    """Sends deliveries to the live workers, again and again until one acknowledges."""

    def __init__(
        self,
        workers: Callable[[], list[Worker]],
        *,
        slack_secret: str,
        pos_secret: str,
        seed: int = 13,
    ) -> None:
        self._workers = workers
        self._slack_secret = slack_secret
        self._pos_secret = pos_secret
        self._random = random.Random(seed)
        self._client = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT, limits=httpx.Limits(max_connections=64)
        )
        self.deliveries: list[Delivery] = []

    async def close(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    async def deliver(self, delivery: Delivery, give_up_at: float) -> Delivery:
        """Send until acknowledged (or, for slash commands, once), or until `give_up_at`."""
        self.deliveries.append(delivery)
        last: Worker | None = None
        while time.monotonic() < give_up_at:
            worker = self._pick(avoid=last)
            if worker is None:  # every worker is down for a moment
                await asyncio.sleep(0.2)
                continue
            last = worker
            status = await self._post(worker, delivery)
            delivery.statuses.append(status)
            if isinstance(status, int) and 200 <= status < 300:
                delivery.acked_at = time.monotonic()
                return delivery
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return delivery  # refused for what it is: sending it again changes nothing
            if delivery.kind is Kind.SLACK_COMMAND:
                return delivery
            await asyncio.sleep(0.1 + self._random.random() * 0.4)
        return delivery

    def _pick(self, avoid: Worker | None) -> Worker | None:
        alive = self._workers()
        others = [w for w in alive if w is not avoid] or alive
        return self._random.choice(others) if others else None

    async def _post(self, worker: Worker, delivery: Delivery) -> int | str:
        headers = self._headers(delivery)
        url = f"{worker.base_url}{PATHS[delivery.kind]}"
        try:
            response = await self._client.post(url, content=delivery.body, headers=headers)
        except httpx.TimeoutException:
            return "timeout"
        except httpx.TransportError:
            return "no connection"
        return response.status_code

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        if delivery.kind is Kind.TELEGRAM:
            return {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
            }
        if delivery.kind in (Kind.SLACK_EVENT, Kind.SLACK_COMMAND):
            retries = len(delivery.statuses)
            return slack_signing.headers(
                self._slack_secret, delivery.body, retry_num=retries or None
            )
        _, headers = signed(delivery.body, secret=self._pos_secret)  # signed now, as a retry is
        return headers
