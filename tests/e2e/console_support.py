"""The real `loyalty chat` script on one SQLite file, with a script piped in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

LOYALTY = Path(sys.executable).with_name("loyalty")
Chat = Callable[..., str]


def console_chat(directory: Path, **environment: str) -> Chat:
    """A function that pipes its lines into `loyalty chat` (run in `directory`, on
    `directory/loyalty.db`, with no chat platform token) and returns what it printed; it
    fails the test on a non-zero exit or a traceback anywhere."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / 'loyalty.db'}", **environment}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("SLACK_BOT_TOKEN", None)

    def run(*lines: str) -> str:
        done = subprocess.run(
            [str(LOYALTY), "chat"], input="\n".join(lines) + "\n", capture_output=True,
            text=True, env=env, cwd=directory, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        return done.stdout

    return run
