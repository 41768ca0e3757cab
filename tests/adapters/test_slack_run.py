"""`loyalty run` with Slack in HTTP mode: a real process on the fake Web API, stopped by SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.adapters.slack_support import SECRET, TOKEN, program_file
from tests.fakes import slack_signing as s
from tests.fakes.slack_api import FakeSlackApi

LOYALTY = Path(sys.executable).with_name("loyalty")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait for start-up (imports, migrations), which on a busy machine takes a while."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"loyalty run exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("GET /healthz never answered")


def run_env(fake: FakeSlackApi, tmp_path: Path, database: Path, port: int) -> dict[str, str]:
    """The environment of `loyalty run` in Slack HTTP mode on the fake Web API."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "LOYALTY_PROGRAM": str(program_file(tmp_path)),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
    }
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    return env


def test_run_serves_slack_events_over_http(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlackApi.run_in_thread() as fake:
        for user in ("UALI", "UBEA"):
            fake.add_user(user, user[1:].lower())
        env = run_env(fake, tmp_path, tmp_path / "run.db", port)
        process = subprocess.Popen(
            [str(LOYALTY), "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, process)
            body = s.slash_command_body(
                "/kudos", "<@UBEA> 5 thanks for the demo #teamwork", user_id="UALI",
                response_url=fake.response_url("run"),
            )  # fmt: skip
            response = httpx.post(
                f"{base}/slack/events", content=body, headers=s.headers(SECRET, body)
            )
            assert response.status_code == 200, response.text
            public, private = fake.wait_for_sync(
                lambda: len(r := fake.responses_to("run")) >= 2 and r, timeout=10
            )
            assert public["response_type"] == "in_channel"
            assert "<@UBEA> received 5 points from ali for #teamwork" in public["text"]
            assert "45 of 50" in private["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr.decode()


def test_sigterm_stops_run_within_seconds_whatever_is_in_flight(tmp_path: Path) -> None:
    """A request stuck in a worker thread (here: waiting on a database another process keeps
    locked, which the bot would retry for about 40 s) does not keep `loyalty run` alive."""
    port = free_port()
    database = tmp_path / "stuck.db"
    with FakeSlackApi.run_in_thread() as fake:
        fake.add_user("UALI", "ali")
        env = run_env(fake, tmp_path, database, port)
        process = subprocess.Popen(
            [str(LOYALTY), "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
        )
        lock = sqlite3.connect(database, timeout=1, isolation_level=None)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process)
            lock.execute("BEGIN IMMEDIATE")  # every write of the bot now waits
            body = s.slash_command_body(
                "/kudos", "balance", user_id="UALI", response_url=fake.response_url("stuck")
            )
            sent = threading.Event()
            sender = threading.Thread(target=_post_quietly, args=(port, body, sent), daemon=True)
            sender.start()
            # The bot keeps the delivery in the database before anything else: that write
            # is what waits now (bolt and its auth.test come after it).
            assert sent.wait(10)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)  # ~40 s if it waited for the thread
            assert not fake.responses_to("stuck")  # the command never got through
        finally:
            lock.close()
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert b"Traceback" not in stderr, stderr.decode()


def _post_quietly(port: int, body: bytes, sent: threading.Event) -> None:
    def mark(request: httpx.Request) -> None:
        sent.set()

    with (
        contextlib.suppress(httpx.HTTPError),
        httpx.Client(event_hooks={"request": [mark]}) as client,
    ):
        client.post(
            f"http://127.0.0.1:{port}/slack/events",
            content=body,
            headers=s.headers(SECRET, body),
            timeout=60,
        )
