"""What both Telegram benchmarks share: a recording fake Bot API and bot subprocesses.

The fake is the tested one from tests/fakes (run the benchmarks from the repository root);
this subclass only adds a cheap, lock-free record of every sendMessage reply, so that
waiting for thousands of replies does not re-scan the whole call log on every request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tests.fakes.telegram_api import FakeTelegramApi

TOKEN = "123:BENCH"
ROOT = Path(__file__).resolve().parent.parent
PROFILE_ENV = "LOYALTY_BENCH_PROFILE"  # a directory: the bot subprocess writes profiles there


class RecordingFake(FakeTelegramApi):
    """The fake Bot API plus (monotonic time, chat id) of every accepted sendMessage."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replies: list[tuple[float, int]] = []

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self.replies.append((time.monotonic(), int(params["chat_id"])))
        return super()._m_sendmessage(params)

    def reset_replies(self) -> None:
        self.replies = []


@contextmanager
def running_fake(**kwargs: Any) -> Iterator[RecordingFake]:
    with RecordingFake.run_in_thread(**kwargs) as fake:
        assert isinstance(fake, RecordingFake)
        yield fake


def loyalty_command() -> list[str]:
    """`loyalty run` from the same environment as this interpreter."""
    script = Path(sys.executable).with_name("loyalty")
    if script.exists():
        return [str(script), "run"]
    return [sys.executable, "-m", "bot", "run"]


def bot_env(fake: FakeTelegramApi, database_url: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "LOYALTY_ENV": "development",  # a benchmark token
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "HTTP_PORT": "0",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("TELEGRAM_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        env.pop(name, None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@contextmanager
def bot_process(
    command: list[str], env: dict[str, str], cwd: Path, stderr: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A bot subprocess, stopped with SIGTERM (then killed) on exit."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stderr=stderr)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    interval: float = 0.005,
) -> None:
    """Poll `condition` (cheap checks only) until it holds; fail fast if `process` died."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the bot exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wait_polling(fake: FakeTelegramApi, process: subprocess.Popen[bytes]) -> None:
    """Until the bot's first getUpdates arrived (it is initialised and polling)."""
    wait_until(lambda: fake.calls_to("getUpdates"), 60, "the first getUpdates", process, 0.05)
