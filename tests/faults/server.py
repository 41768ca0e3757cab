"""A PostgreSQL server that the fault suite owns, so that it may restart it.

The server at LOYALTY_TEST_POSTGRES_URL is shared with every other test run on the machine,
and a restart would break them. So the fault suite creates its own cluster with the
machine's PostgreSQL binaries (`initdb`, `pg_ctl`): a data directory under the temporary
directory, a free port on 127.0.0.1, trust authentication, started for the test, restarted
once in the middle of the load (`pg_ctl restart -m fast`, as an upgrade or a failover of the
server does to a deployment) and stopped and removed at the end.

`initdb` refuses to run as root; as root every server command runs as the `postgres` user
(`runuser`), who owns the directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.cluster import free_port

BINDIR_ENV = "LOYALTY_FAULTS_PG_BINDIR"  # where initdb and pg_ctl are, if not found
SERVER_USER = "postgres"  # who runs the server when the suite runs as root
DATABASE = "faults"
# Commands that wait (start, stop, restart) give up after this many seconds.
WAIT_SECONDS = 90


class ServerProblem(RuntimeError):
    """The private server could not be created, started, restarted or stopped."""


def find_bindir() -> Path | None:
    """The directory of `initdb` and `pg_ctl`: the environment's, else the newest of the
    Debian/Ubuntu layout (/usr/lib/postgresql/<version>/bin), else next to `pg_ctl` on PATH."""
    candidates: list[Path] = []
    if given := os.environ.get(BINDIR_ENV):
        candidates.append(Path(given))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version(p.parent.name), reverse=True)
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return directory
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))


def require_bindir() -> Path:
    """The binaries; skips the test when there are none, or fails it when CI is set."""
    bindir = find_bindir()
    if bindir is None:
        message = (
            "the fault suite needs the PostgreSQL server binaries (initdb, pg_ctl) to run a"
            " server it may restart; none under /usr/lib/postgresql/*/bin or on PATH"
            f" (install PostgreSQL, or set {BINDIR_ENV})"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message} - CI must run the fault suite")
        pytest.skip(message)
    return bindir


class PrivateServer:
    """One PostgreSQL cluster in a temporary directory, on its own port."""

    def __init__(self, bindir: Path) -> None:
        self._bindir = bindir
        self._root = Path(tempfile.mkdtemp(prefix="loyalty-faults-pg-"))
        self._data = self._root / "data"
        self._log = self._root / "server.log"
        self.port = 0
        self.restarts = 0
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise ServerProblem(
                    f"running as root, and there is no {SERVER_USER!r} user to run initdb as"
                ) from exc
            os.chown(self._root, self._owner.pw_uid, self._owner.pw_gid)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the suite's database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def libpq(self) -> str:
        """The same database as a libpq connection string."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={DATABASE}"

    def create(self) -> None:
        """initdb, start, and create the suite's database."""
        self._run(
            "initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        for attempt in range(3):  # the free port may be taken before the server binds it
            self.port = free_port()
            try:
                self._pg_ctl("start", "-o", self._options())
                break
            except ServerProblem:
                if attempt == 2:
                    raise
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def restart(self) -> float:
        """`pg_ctl restart -m fast`: every connection is closed, every session's advisory
        lock released, and the server accepts connections again; seconds it took."""
        began = time.monotonic()
        self._pg_ctl("restart", "-m", "fast", "-o", self._options())
        self.restarts += 1
        return time.monotonic() - began

    def destroy(self) -> None:
        """Stop the server (if it runs) and remove its directory."""
        try:
            if (self._data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "fast")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def _options(self) -> str:
        # Listen on this port only, with the socket in our directory (not the shared
        # server's). fsync off: only a crash of the machine could lose data then, never a
        # server restart; it spares a disk that other test runs share.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self._root} -c fsync=off"
        )

    def _admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._run(
            "pg_ctl", action, "-D", str(self._data), "-l", str(self._log), "-w",
            "-t", str(WAIT_SECONDS), *args,
        )  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bindir / tool), *args]
        if self._owner is not None:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        done = subprocess.run(
            command, cwd=self._root, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=WAIT_SECONDS + 30, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise ServerProblem(
                f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}"
                f"{done.stderr}\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self._log.read_text(encoding="utf-8", errors="replace").splitlines()
            return "server log:\n" + "\n".join(lines[-20:])
        return "(no server log)"


@contextlib.contextmanager
def private_server() -> Iterator[PrivateServer]:
    """A running private server with an empty database; stopped and removed afterwards. In
    CI a missing binary or a server that will not start fails the test with the reason."""
    server = PrivateServer(require_bindir())
    try:
        server.create()
        yield server
    finally:
        server.destroy()
