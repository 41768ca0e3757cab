"""`loyalty run` with a Telegram token: a real process on the fake Bot API, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegramApi, make_command_update

ROOT = Path(__file__).resolve().parents[2]


def test_run_starts_telegram_and_the_dispatcher(tmp_path: Path) -> None:
    with FakeTelegramApi.run_in_thread() as fake:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "TELEGRAM_BOT_TOKEN": "123:ABC",
            "LOYALTY_ENV": "development",  # a test token
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "HTTP_PORT": "0",
        }
        env.pop("TELEGRAM_WEBHOOK_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
        )
        try:
            fake.wait_for_sync(lambda: fake.calls_to("getUpdates"), timeout=60)  # start-up
            fake.push_update(make_command_update(fake.next_update_id(), 77, "/start"))
            welcome = fake.wait_for_sync(lambda: fake.sent_messages(77), timeout=10)
            assert "Welcome to" in (welcome[0].text or "")
            assert fake.commands_for()  # the member menu was published
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr.decode()
