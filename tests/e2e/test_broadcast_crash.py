"""A broadcast to 1,000 members, its `loyalty run` killed with SIGKILL halfway and started again:
every recipient gets it, none twice beyond the messages in flight at the kill, opted-out and
blocked members get nothing, the holdout (10%) gets nothing, and the report adds up.

The in-flight bound: the dispatcher has at most `IN_FLIGHT` messages under way at once and
records each as sent right after the platform accepts it, so at most that many per dispatcher
were accepted but not yet recorded when the process died; those go again after the restart.
Rows it had claimed but not sent wait for their lease (`OUTBOX_LEASE_SECONDS`, 2 s here) and
are then sent once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, text

from bot.bootstrap import build
from bot.outbox.dispatcher import IN_FLIGHT
from bot.settings import Settings
from core.model import Identity
from tests.fakes.telegram_api import FakeTelegramApi

T = TypeVar("T")
MEMBERS = 1000
OPTED_OUT = 50
BLOCKED = 30
IN_FLIGHT_BOUND = 1 * IN_FLIGHT  # one process, one dispatcher, IN_FLIGHT sends under way
CHAT_BASE = 500_000


def wait_for(check: Callable[[], T | None], deadline: float, what: str) -> T:
    """Poll `check` until it returns something, or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = check()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _seed(url: str) -> None:
    settings = Settings(_env_file=None, database_url=url, loyalty_env="development")  # type: ignore[call-arg]
    services = build(settings)
    try:
        loyalty = services.loyalty
        for n in range(MEMBERS):
            member = loyalty.enroll(
                Identity(
                    platform="telegram",
                    external_id=str(CHAT_BASE + n),
                    display_name=f"M{n}",
                    language="en",
                )
            ).member
            # `loyalty run` reads the real clock: without this, the default quiet hours
            # (21:00-09:00 in the program's zone) would defer the broadcast whenever the
            # test happens to run in them.
            loyalty.set_quiet_hours(member.id, "off")
            if n < OPTED_OUT:
                loyalty.subscribe(member.id, ["broadcast"], False)
    finally:
        services.close()


def test_broadcast_survives_sigkill_and_reaches_everyone_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    _seed(url)
    env = {**os.environ, "DATABASE_URL": url, "LOYALTY_ENV": "development", "HTTP_PORT": "0"}
    for name in ("TELEGRAM_WEBHOOK_URL", "SLACK_BOT_TOKEN", "POS_WEBHOOK_SECRET"):
        env.pop(name, None)
    cli = [sys.executable, "-m", "bot"]
    queued = subprocess.run(
        [*cli, "broadcast", "send", "all", "Big news: new beans are in"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    assert "1,000 members, 100 (10%) held back" in queued.stdout
    engine = create_engine(url)

    def scalar(sql: str) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    with FakeTelegramApi.run_in_thread() as fake:
        blocked_chats = {str(CHAT_BASE + OPTED_OUT + n) for n in range(BLOCKED)}
        for chat in blocked_chats:
            fake.block_chat(chat)
        run_env = {
            **env,
            "TELEGRAM_BOT_TOKEN": "123:ABC",
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "OUTBOX_LEASE_SECONDS": "2",
        }
        first = subprocess.Popen(
            [*cli, "run"], cwd=tmp_path, env=run_env, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(lambda: len(fake.sent_messages()) >= 400 or None, 120, "half the sends")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = len(fake.sent_messages())
        assert at_kill < 800  # killed halfway, not at the end
        second = subprocess.Popen(
            [*cli, "run"], cwd=tmp_path, env=run_env, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(
                lambda: scalar("SELECT COUNT(*) FROM broadcast WHERE status = 'done'") == 1 or None,
                180,
                "the broadcast to finish",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        received = Counter(str(call.chat_id) for call in fake.sent_messages())

    with engine.connect() as conn:
        held = {
            str(row[0])
            for row in conn.execute(
                text(
                    "SELECT i.external_id FROM broadcast_member bm JOIN identity i"
                    " ON i.member_id = bm.member_id WHERE bm.holdout"
                )
            )
        }
        report = json.loads(conn.execute(text("SELECT report FROM broadcast")).scalar_one())
    engine.dispose()
    opted = {str(CHAT_BASE + n) for n in range(OPTED_OUT)}
    everyone = {str(CHAT_BASE + n) for n in range(MEMBERS)}
    expected = everyone - held - opted - blocked_chats
    assert len(held) == 100
    assert set(received) == expected  # everyone due got it; held back, opted out, blocked: no
    twice = [chat for chat, times in received.items() if times > 1]
    assert len(twice) <= IN_FLIGHT_BOUND, twice
    assert report.pop("audience") == MEMBERS and report.pop("id") == 1
    assert report["sent"] == len(expected)
    assert report["blocked"] == len(blocked_chats - held)
    assert report["skipped"] == len(opted - held)
    assert sum(report.values()) == MEMBERS
