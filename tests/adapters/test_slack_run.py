"""`loyalty run` with Slack in HTTP mode: a real process on the fake Web API, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
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


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
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


def test_run_serves_slack_events_over_http(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlackApi.run_in_thread() as fake:
        for user in ("UALI", "UBEA"):
            fake.add_user(user, user[1:].lower())
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "LOYALTY_PROGRAM": str(program_file(tmp_path)),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
        }
        for name in ("TELEGRAM_BOT_TOKEN", "SLACK_APP_TOKEN"):
            env.pop(name, None)
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
