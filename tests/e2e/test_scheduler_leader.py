"""Two `loyalty run` processes on one PostgreSQL: only one leads the scheduled jobs; killed with
SIGKILL, the other takes over (elections every second here, `SCHEDULER_ELECT_SECONDS`) and runs
them: a broadcast scheduled after the kill is started by the survivor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage.leader import leader_name
from storage.migrate import upgrade
from tests.storage.fixtures import _libpq, postgres_schema, require_postgres

T = TypeVar("T")
TAKEOVER_DEADLINE = 60.0  # the "within a minute"
# Two workers importing the app at once on a loaded 2-core machine: start-up, not a timing.
STARTUP_DEADLINE = 90.0


def wait_for(check: Callable[[], T | None], deadline: float, what: str) -> T:
    """Poll `check` until it returns something, or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = check()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema(require_postgres()) as url:
        upgrade(url)
        yield url


def _env(url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "POS_WEBHOOK_SECRET": "development-webhook-secret",
        "LOYALTY_ENV": "development",
        "HTTP_PORT": "0",
        "SCHEDULER_ELECT_SECONDS": "1",
    }
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        env.pop(name, None)
    return env


def _leaders(pids: list[int]) -> list[int]:
    """Which of these processes hold a leader connection now."""
    names = {leader_name(pid): pid for pid in pids}
    with psycopg.connect(_libpq(require_postgres()), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE application_name = ANY(%s)",
            (list(names),),
        ).fetchall()
    return sorted(names[row[0]] for row in rows)


def _status(url: str, broadcast_id: int) -> str:
    options = str(make_url(url).query["options"])  # "-c search_path=<the test's schema>"
    with psycopg.connect(_libpq(require_postgres()), autocommit=True, options=options) as conn:
        row = conn.execute("SELECT status FROM broadcast WHERE id = %s", (broadcast_id,)).fetchone()
    return str(row[0]) if row else ""


def test_one_leader_and_a_takeover_after_sigkill(schema_url: str, tmp_path: Path) -> None:
    env = _env(schema_url)
    command = [sys.executable, "-m", "bot", "run"]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    second = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    try:
        pids = [first.pid, second.pid]
        leader = wait_for(lambda: _leaders(pids) or None, STARTUP_DEADLINE, "a leader")
        assert len(leader) == 1
        for _ in range(5):  # it stays the only one while both run
            time.sleep(0.5)
            assert _leaders(pids) == leader
        dead = leader[0]
        survivor = second if dead == first.pid else first
        os.kill(dead, signal.SIGKILL)
        (first if dead == first.pid else second).wait(timeout=10)
        # A broadcast due a moment from now: only a leader's job can start it.
        at = (datetime.now(UTC) + timedelta(seconds=8)).isoformat()
        queued = subprocess.run(
            [*command[:-1], "broadcast", "send", "all", "After the takeover", "--at", at],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert queued.returncode == 0 and "Broadcast #1" in queued.stdout, queued.stderr
        taken = wait_for(
            lambda: _leaders([survivor.pid]) or None, TAKEOVER_DEADLINE, "the takeover"
        )
        assert taken == [survivor.pid]
        wait_for(
            lambda: _status(schema_url, 1) == "done" or None,
            TAKEOVER_DEADLINE,
            "the scheduled broadcast to start and finish",
        )
        assert survivor.poll() is None
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (first, second):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
