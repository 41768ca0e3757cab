"""Several `loyalty run` workers on one PostgreSQL draining one outbox through one bot token.

Members with a Telegram chat each and one queued `points_earned` message each are written
through the core (so the rows are what the services write); N workers in webhook mode (as
several workers are deployed: Telegram allows one poller) are started as real subprocesses
against the recording fake Bot API. The fake may enforce Telegram's limits (30/s overall,
1/s per chat, 429 with retry_after above them) or allow many more (a paid broadcast limit).
The rate is the accepted sends over the time from the first to the last.
"""

from __future__ import annotations

import gc
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.settings import PROGRAM_FILE
from benchmarks.telegram_support import (
    RecordingFake,
    bot_env,
    bot_process,
    loyalty_command,
    wait_until,
)
from bot.clock import SystemClock
from core.loyalty import Loyalty
from core.model import Identity
from core.outbox import OutboxMessage, Recipient
from core.ports import UnitOfWork
from core.program import load_program
from storage.database import SqlDatabase
from storage.migrate import upgrade

FIRST_CHAT = 7_000_000
WEBHOOK_SECRET = "bench-hook-7f3a9c"  # the fake's, not a real one


@dataclass(frozen=True, kw_only=True)
class DrainResult:
    workers: int
    messages: int
    sent: int  # accepted sends
    chats: int  # distinct chats reached
    duplicates: int  # chats that got more than one message
    seconds: float  # first accepted send to the last
    too_many_requests: int
    peak_per_second: int

    @property
    def per_second(self) -> float:
        # n sends span n - 1 gaps: the rate at which the workers hand them out.
        return (self.sent - 1) / self.seconds if self.seconds > 0 else float(self.sent)


def seed_outbox(url: str, messages: int) -> list[int]:
    """Migrate `url` and enroll `messages` members, each with one queued points receipt;
    their chat ids."""
    upgrade(url)
    database = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(database, load_program(PROGRAM_FILE), SystemClock())
        chats = [FIRST_CHAT + n for n in range(messages)]
        members = [
            loyalty.enroll(
                Identity(platform="telegram", external_id=str(chat), display_name=f"M{chat}")
            ).member.id
            for chat in chats
        ]
        now = datetime.now(UTC)

        def queue(uow: UnitOfWork) -> None:
            for n, member_id in enumerate(members):
                message = OutboxMessage(
                    recipient=Recipient.member(member_id),
                    key="notify.points_earned",
                    dedupe_key=f"drain:{n}",
                    params={"points": 10 + n % 90, "receipt": f"R-{n}"},
                )
                uow.outbox.add(message, now)

        database.run(queue)
    finally:
        database.dispose()
    return chats


def unsent(url: str) -> int:
    """Outbox rows not (yet) marked sent."""
    database = SqlDatabase.from_url(url)
    try:
        query = "SELECT count(*) FROM outbox WHERE status <> 'sent'"
        rows = database.run_sql(lambda sql: sql.all_text(query), write=False)
        return int(rows[0][0])
    finally:
        database.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_env(fake: RecordingFake, url: str, port: int, **extra: str) -> dict[str, str]:
    """A webhook-mode worker of the one bot token on `url`, serving HTTP on `port`."""
    env = bot_env(fake, url)
    env.update(
        TELEGRAM_WEBHOOK_URL=f"https://bot.example.test/{port}/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        HTTP_PORT=str(port),
        **extra,
    )
    return env


def _set_due(url: str, when: str) -> None:
    """Make every queued row due at `when` (SQL: a far future holds them, now releases)."""
    database = SqlDatabase.from_url(url)
    try:
        statement = (
            f"UPDATE outbox SET status = 'queued', not_before = {when}, attempts = 0,"
            " sent_at = NULL, last_error = NULL"
        )
        database.run_sql(lambda sql: sql.run_text(statement))
    finally:
        database.dispose()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def no_collections() -> Iterator[None]:
    """No cyclic garbage collection in this process meanwhile. The fake Bot API runs here: a
    full collection of this process's heap paused it for about 100 ms (gen 2, traced in the
    three-worker drain), and the sends that reached it meanwhile were stamped together when it
    resumed, so its window counted 31 in one second though they had left the workers a slot
    apart, and it answered 429."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def drain(
    fake: RecordingFake, url: str, chats: list[int], workers: int, **extra: str
) -> DrainResult:
    """Start `workers` workers on `url` with the outbox held, release every row at once when
    all of them serve, wait until every chat got its message, stop them."""
    _set_due(url, "TIMESTAMP WITH TIME ZONE '2999-01-01 00:00:00+00'")
    with tempfile.TemporaryDirectory(prefix="loyalty-drain-") as tmp, ExitStack() as stack:
        ports = [free_port() for _ in range(workers)]
        processes = [
            stack.enter_context(
                bot_process(loyalty_command(), worker_env(fake, url, port, **extra), Path(tmp))
            )
            for port in ports
        ]

        def alive() -> None:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a worker exited with {process.returncode}")

        for port in ports:
            wait_until(lambda port=port: alive() or _healthy(port), 60, "a worker", None, 0.1)
        timeout = 60 + 2 * len(chats) / 30

        def sent_all() -> bool:
            alive()
            return len(fake.replies) >= len(chats)

        with no_collections():
            _set_due(url, "CURRENT_TIMESTAMP")
            wait_until(sent_all, timeout, f"{len(chats)} messages", None, 0.05)
        # Stopped only once every row is marked sent: a stop cancels what is in flight.
        wait_until(lambda: unsent(url) == 0, 30, "the rows marked sent", None, 0.1)
    times = sorted(at for at, _ in fake.replies)
    reached = [chat for _, chat in fake.replies]
    return DrainResult(
        workers=workers,
        messages=len(chats),
        sent=len(times),
        chats=len(set(reached) & set(chats)),
        duplicates=len(reached) - len(set(reached)),
        seconds=times[-1] - times[0],
        too_many_requests=fake.too_many_requests,
        peak_per_second=fake.peak_sends(),
    )
