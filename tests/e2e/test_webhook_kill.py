"""An acknowledged update is never lost and never handled twice, whatever worker dies.

Two `loyalty run` workers in webhook mode on one PostgreSQL; 120 staff purchases (`/earn`)
are posted to them, alternately, a third of them to both (as a load balancer retrying may);
one worker is killed with SIGKILL while updates are in flight; every update that got no 200
is posted again to the other worker, as Telegram does. Every update that got a 200 must take
effect exactly once: its purchase is recorded, once, and no update is answered as a repeat.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx

from benchmarks.outbox_workers import WEBHOOK_SECRET, free_port, worker_env
from benchmarks.settings import PROGRAM_FILE
from benchmarks.telegram_support import RecordingFake, bot_process, loyalty_command, running_fake
from bot.clock import SystemClock
from core.loyalty import Loyalty
from core.model import Identity
from core.program import load_program
from storage.database import SqlDatabase
from storage.migrate import upgrade
from tests.fakes.telegram_api import make_command_update
from tests.storage.fixtures import postgres_schema, require_postgres

STAFF, ANN = 8000, 8001
UPDATES = 120
KILL_AFTER = 40  # updates acknowledged before the kill
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


def _seed(url: str) -> str:
    """Ann's member code; the staff member is an admin by LOYALTY_ADMINS."""
    upgrade(url)
    database = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(database, load_program(PROGRAM_FILE), SystemClock())
        loyalty.enroll(Identity(platform="telegram", external_id=str(STAFF), display_name="Sam"))
        ann = loyalty.enroll(
            Identity(platform="telegram", external_id=str(ANN), display_name="Ann")
        )
        return ann.member.code
    finally:
        database.dispose()


def _count(url: str, query: str) -> list[tuple[object, ...]]:
    database = SqlDatabase.from_url(url)
    try:
        return database.run_sql(lambda sql: sql.all_text(query), write=False)
    finally:
        database.dispose()


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _post(port: int, update: dict[str, object]) -> bool:
    """True when the worker answered 200."""
    try:
        answer = httpx.post(
            f"http://127.0.0.1:{port}/telegram/webhook", json=update, headers=HEADERS, timeout=10
        )
    except httpx.TransportError:
        return False
    return answer.status_code == 200


def test_a_worker_killed_mid_load_loses_no_acknowledged_update_and_doubles_none() -> None:
    with postgres_schema(require_postgres()) as url, running_fake() as fake:
        code = _seed(url)
        updates = [
            make_command_update(n, STAFF, f"/earn {code} 1.00 R-{n}", first_name="Sam")
            for n in range(1, UPDATES + 1)
        ]
        acknowledged = _deliver_while_killing(fake, url, updates)
        assert len(acknowledged) == UPDATES  # the re-sends made sure of it
        receipts = _count(url, "SELECT receipt, count(*) FROM purchase GROUP BY receipt")
        assert sorted(str(r) for r, _ in receipts) == sorted(f"R-{n}" for n in acknowledged)
        assert all(int(str(n)) == 1 for _, n in receipts)
        texts = [c.text or "" for c in fake.sent_messages(STAFF)]
        assert not [t for t in texts if "Nothing changed" in t]  # nothing handled twice
        assert len([t for t in texts if "R-" in t]) <= UPDATES


def _deliver_while_killing(
    fake: RecordingFake, url: str, updates: list[dict[str, object]]
) -> set[int]:
    """Post every update (some to both workers), SIGKILL the first worker on the way, post
    what got no 200 again to the survivor; the update ids that got a 200."""
    acknowledged: set[int] = set()
    guard = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="loyalty-kill-") as tmp, ExitStack() as stack:
        ports = [free_port(), free_port()]
        env = {"LOYALTY_ADMINS": f"telegram:{STAFF}", "INBOUND_LEASE_SECONDS": "2"}
        logs = [stack.enter_context((Path(tmp) / f"worker-{n}.log").open("wb")) for n in (0, 1)]
        workers = [
            stack.enter_context(
                bot_process(
                    loyalty_command(), worker_env(fake, url, port, **env), Path(tmp), stderr=log
                )
            )
            for port, log in zip(ports, logs, strict=True)
        ]
        for port in ports:
            _until(lambda port=port: _healthy(port), 60, f"worker on {port}")

        def send(n: int, update: dict[str, object]) -> None:
            first = ports[n % 2]
            ok = _post(first, update)
            if n % 3 == 0:  # a third go to both workers
                ok = _post(ports[1 - n % 2], update) or ok
            if ok:
                with guard:
                    acknowledged.add(int(str(update["update_id"])))

        with ThreadPoolExecutor(max_workers=10) as pool:
            for n, update in enumerate(updates):
                pool.submit(send, n, update)
            _until(lambda: len(acknowledged) >= KILL_AFTER, 60, f"{KILL_AFTER} answers")
            os.kill(workers[0].pid, signal.SIGKILL)  # mid-load: posts to it are in flight
        workers[0].wait(10)
        survivor = ports[1]
        for update in updates:  # Telegram sends an unacknowledged update again
            update_id = int(str(update["update_id"]))
            if update_id not in acknowledged:
                _until(lambda update=update: _post(survivor, update), 30, "a 200")
                acknowledged.add(update_id)
        try:
            _until(
                lambda: _count(url, "SELECT count(*) FROM purchase")[0][0] == len(updates),
                60,
                "every purchase",
            )
        except AssertionError:
            survivor_log = (Path(tmp) / "worker-1.log").read_text(errors="replace")
            pending = _count(url, "SELECT key, state, holder, lease_until FROM inbound_delivery"
                             " WHERE state <> 'done'")  # fmt: skip
            have = {str(r[0]) for r in _count(url, "SELECT receipt FROM purchase")}
            missing = sorted(set(range(1, len(updates) + 1)) - {int(r[2:]) for r in have})
            texts = [c.text for c in fake.sent_messages(STAFF) if "earned" not in (c.text or "")]
            raise AssertionError(
                f"missing {missing}; pending: {pending}; other replies: {texts}\n"
                + survivor_log[-4000:]
            ) from None
        _until(
            lambda: (
                _count(url, "SELECT count(*) FROM inbound_delivery WHERE state <> 'done'")[0][0]
                == 0
            ),
            30,
            "every delivery done",
        )
    return acknowledged
