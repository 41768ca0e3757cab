"""What stops a start is told in one line, with a non-zero status and no traceback (issue
point 11): the real console script, as an operator would meet it."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.storage.fixtures import postgres_schema, require_postgres

LOYALTY = Path(sys.executable).with_name("loyalty")
PLATFORM_NAMES = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "POS_WEBHOOK_SECRET", "METRICS_TOKEN",
)  # fmt: skip


def loyalty(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run `loyalty args` with `env` on top of a clean environment; (status, stderr)."""
    base = {k: v for k, v in os.environ.items() if k not in PLATFORM_NAMES}
    base.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 'ok.db'}")
    done = subprocess.run(
        [str(LOYALTY), *args], input="", capture_output=True, text=True,
        env={**base, **env}, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("garbage", "DATABASE_URL is not a database URL we can use"),
        ("mysql://user@db/loyalty", "unsupported database 'mysql'"),
        ("sqlite:////nonexistent-directory/x/loyalty.db", "does its directory exist"),
    ],
)
def test_a_bad_database_url_is_one_line(tmp_path: Path, url: str, said: str) -> None:
    command = ("db", "upgrade") if url == "garbage" else ("chat",)
    status, stderr = loyalty(tmp_path, *command, DATABASE_URL=url)
    line = one_line(stderr)
    assert status == 2 and line.startswith("Database error:") and said in line


def test_postgresql_problems_are_one_line(tmp_path: Path) -> None:
    server = make_url(require_postgres())
    cases = {
        server.set(port=closed_port()): "Connection refused",
        server.set(database=f"nope_{uuid.uuid4().hex[:8]}"): "does not exist",
        server.set(username=f"nobody_{uuid.uuid4().hex[:8]}"): "does not exist",
    }
    for url, said in cases.items():
        status, stderr = loyalty(tmp_path, "chat", DATABASE_URL=url.render_as_string(False))
        line = one_line(stderr)
        assert status == 2 and said in line, line
        assert (url.password or "\x00") not in line
    with postgres_schema(require_postgres()) as fresh:
        status, stderr = loyalty(tmp_path, "chat", DATABASE_URL=fresh)
        assert status == 2 and "not migrated: run `loyalty db upgrade`" in one_line(stderr)
        assert loyalty(tmp_path, "db", "upgrade", DATABASE_URL=fresh)[0] == 0


def test_platform_settings_without_their_token_do_not_fall_back_to_the_console(
    tmp_path: Path,
) -> None:
    for env, said in (
        ({"TELEGRAM_WEBHOOK_URL": "https://bot.example.com/hook"}, "TELEGRAM_BOT_TOKEN is not"),
        ({"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5"}, "SLACK_BOT_TOKEN is not"),
        ({"TELEGRAM_BOT_TOKEN": "123:ABC"}, "TELEGRAM_BOT_TOKEN does not look like a real token"),
        ({"HTTP_PORT": "eighty"}, "HTTP_PORT"),
    ):
        status, stderr = loyalty(tmp_path, "run", **env)
        line = one_line(stderr)
        assert status == 2 and line.startswith("Configuration error:") and said in line


def test_an_unreachable_telegram_or_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    status, stderr = loyalty(
        tmp_path, "run", LOYALTY_ENV="development", TELEGRAM_BOT_TOKEN="123:ABC",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{closed_port()}/bot", HTTP_PORT="0",
    )  # fmt: skip
    line = one_line(stderr)
    assert status == 1 and line.startswith("Start-up error: Telegram could not start:")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, stderr = loyalty(
            tmp_path, "run", LOYALTY_ENV="development", SLACK_BOT_TOKEN="xoxb-test-token-1234",
            SLACK_SIGNING_SECRET="test-signing-secret", HTTP_PORT=str(port),
            SLACK_API_URL=f"http://127.0.0.1:{closed_port()}/api/",
        )  # fmt: skip
    line = one_line(stderr)
    assert status == 1 and line.startswith(f"Start-up error: cannot listen on 127.0.0.1:{port}")


def test_a_database_that_says_head_but_lacks_tables_is_one_line(tmp_path: Path) -> None:
    """A database made while a migration was later re-ordered claims the head revision but
    lacks that migration's work: refused at start, not by every command after."""
    path = tmp_path / "drifted.db"
    url = f"sqlite:///{path}"
    assert loyalty(tmp_path, "db", "upgrade", DATABASE_URL=url)[0] == 0
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE inbound_delivery RENAME TO inbound_event")
        connection.execute("ALTER TABLE member DROP COLUMN quiet_start")
    status, stderr = loyalty(tmp_path, "chat", DATABASE_URL=url)
    line = one_line(stderr)
    assert status == 2 and line.startswith("Database error:"), line
    assert "lacks inbound_delivery, member.quiet_start" in line
    assert "start from a new database" in line
