"""Several real `loyalty run` workers on one PostgreSQL schema, as a deployment runs them:
each on its own port, Telegram in webhook mode and Slack in HTTP mode against the fakes, the
purchase API on. A worker can be killed (SIGKILL) and started again on the same port.

Each worker's standard error is read line by line as it comes, stamped with the time it
arrived, so a check can tell when a process started or stopped leading the scheduler.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

LOYALTY = Path(sys.executable).with_name("loyalty")
TELEGRAM_TOKEN = "123456:FAULTS-test-token"
WEBHOOK_SECRET = "faults-webhook-secret-0123456789"
LEADS = "scheduler: this process leads"
NO_LONGER_LEADS = "scheduler: this process no longer leads"
# The leader lock's connection was cut (the lock went with it) and, later, taken again.
LOCK_LOST = "lost the leader lock's connection"
LOCK_RETAKEN = "took the leader lock again on a new connection"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_application_name(url: str, name: str) -> str:
    """`url` whose connections call themselves `name` in pg_stat_activity."""
    return (
        make_url(url)
        .update_query_dict({"application_name": name})
        .render_as_string(hide_password=False)
    )


class WorkerExited(AssertionError):
    """A worker process ended while it was starting."""


@dataclass(kw_only=True)
class Life:
    """One run of a worker process: when it started, when it died and what it logged."""

    pid: int
    started: float
    ended: float | None = None
    killed: bool = False
    lines: list[tuple[float, str]] = field(default_factory=list)


class Worker:
    """One `loyalty run` slot: a port and an application name that outlive its processes."""

    def __init__(
        self,
        index: int,
        env: dict[str, str],
        cwd: Path,
        application_name: str,
        command: list[str] | None = None,
    ) -> None:
        self.index = index
        self._command = command or [str(LOYALTY), "run"]
        self.port = free_port()
        self.application_name = application_name
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {**env, "HTTP_PORT": str(self.port)}
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.lives: list[Life] = []
        self.start_seconds: list[float] = []  # from each start to its first /healthz answer

    @property
    def database_url(self) -> str:
        """The database its processes use."""
        return self._env["DATABASE_URL"]

    @property
    def alive(self) -> bool:
        """Whether a process is running in this slot."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return self._process.pid if self.alive and self._process is not None else None

    def start(self, timeout: float = 120.0, attempts: int = 3) -> int:
        """Start a process and wait until it answers /healthz; a process that exits while
        starting (its database connection was cut, say) is started again, as a supervisor
        does. How many starts it took. (`timeout` is generous: with other test runs loading
        both cores, a worker once took over 60 s to answer its first /healthz.)"""
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(timeout)
            except WorkerExited:
                if attempt == attempts:
                    raise
            else:
                return attempt
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> None:
        process = subprocess.Popen(
            self._command, cwd=self._cwd, env=self._env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        life = Life(pid=process.pid, started=time.monotonic())
        self.lives.append(life)
        self._process = process
        self._reader = threading.Thread(
            target=_read_lines,
            args=(process, life),
            name=f"worker-{self.index}-stderr",
            daemon=True,
        )
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._finish(process, life)
                raise WorkerExited(f"worker {self.index} exited at start:\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    self.start_seconds.append(time.monotonic() - life.started)
                    return
            time.sleep(0.05)
        raise AssertionError(f"worker {self.index} never became healthy:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, whatever was in flight stays as it was."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL)
        self.lives[-1].killed = True
        self._finish(process, self.lives[-1])

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit status (None when nothing ran)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self._finish(process, self.lives[-1])
        return process.returncode

    def _finish(self, process: subprocess.Popen[bytes], life: Life) -> None:
        process.wait()
        life.ended = time.monotonic()
        if self._reader is not None:
            self._reader.join(10)
        self._process = None

    def log(self) -> str:
        """Every line every process of this slot wrote to standard error."""
        return "\n".join(text for life in self.lives for _, text in life.lines)


def _read_lines(process: subprocess.Popen[bytes], life: Life) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        life.lines.append((time.monotonic(), raw.decode("utf-8", "replace").rstrip()))


@dataclass(frozen=True, kw_only=True)
class Platforms:
    """Where the fakes listen."""

    telegram_base_url: str
    slack_api_url: str


class Cluster:
    """`size` workers sharing one database (a schema on the test server)."""

    def __init__(
        self,
        *,
        size: int,
        database_url: str,
        program: Path,
        platforms: Platforms,
        pos_secret: str,
        slack_token: str,
        slack_secret: str,
        admins: str,
        cwd: Path,
        tag: str,
        command: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """`command` replaces `loyalty run` (a profiled run, say), `extra_env` adds to its
        environment."""
        env = {
            **os.environ,
            "LOYALTY_PROGRAM": str(program),
            "LOYALTY_ENV": "development",  # test tokens
            "LOYALTY_ADMINS": admins,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE_URL": platforms.telegram_base_url,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SLACK_BOT_TOKEN": slack_token,
            "SLACK_SIGNING_SECRET": slack_secret,
            "SLACK_API_URL": platforms.slack_api_url,
            "POS_WEBHOOK_SECRET": pos_secret,
            "HTTP_HOST": "127.0.0.1",
            # A kept update whose worker died is taken over after this lease: short, so the
            # suite sees take-overs within its run (60 s by default).
            "INBOUND_LEASE_SECONDS": "10",
            # Under this suite's load (three workers, PostgreSQL, the fakes and the chaos on two
            # cores) a send can reach the fake tens of milliseconds after its slot, while the
            # next one is on time; at the default 29/s that crowded 31 into a second now and
            # then. The budget is a setting; here it keeps the margin this machine needs.
            "TELEGRAM_SENDS_PER_SECOND": "28",
            **(extra_env or {}),
        }
        env.pop("SLACK_APP_TOKEN", None)
        self.workers: list[Worker] = []
        for index in range(size):
            name = f"{tag}-w{index}"
            worker_env = {**env, "DATABASE_URL": with_application_name(database_url, name)}
            self.workers.append(Worker(index, worker_env, cwd, name, command))

    @contextlib.contextmanager
    def running(self) -> Iterator[Cluster]:
        """Every worker started; all stopped afterwards, whatever happened."""
        try:
            for worker in self.workers:
                worker.start()
            yield self
        finally:
            for worker in self.workers:
                if worker.alive:
                    worker.stop()

    def alive(self) -> list[Worker]:
        """The workers with a running process."""
        return [w for w in self.workers if w.alive]

    def leader(self) -> Worker | None:
        """The worker whose running process last said it leads (and not that it stopped)."""
        for worker in self.workers:
            if worker.alive and _leading(worker.lives[-1]):
                return worker
        return None


def _leading(life: Life) -> bool:
    state = False
    for _, text in list(life.lines):
        if LEADS in text or LOCK_RETAKEN in text:
            state = True
        elif NO_LONGER_LEADS in text or LOCK_LOST in text:
            state = False
    return state
