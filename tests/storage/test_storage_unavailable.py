"""A database that cannot serve (read-only, full, unreachable) is told apart from a bug: the
unit of work raises `StorageUnavailable` with the reason, so the edge can say "try again"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from core.errors import StorageUnavailable
from storage.database import SqlDatabase
from storage.engine import create_engine_for
from storage.errors import unavailable_reason
from tests.storage.fixtures import _libpq, require_postgres


def test_a_read_only_sqlite_file_is_unavailable_for_writes_and_still_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ro.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode = WAL")  # as every database the app made
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.commit()
    setup.close()
    engine = create_engine_for(f"sqlite:///file:{path}?mode=ro&uri=true")
    db = SqlDatabase(engine, attempts=2)
    try:
        assert db.run_sql(lambda sql: sql.all_text("SELECT COUNT(*) FROM t"), write=False) == [(0,)]
        with pytest.raises(StorageUnavailable) as raised:
            db.run_sql(lambda sql: sql.all_text("INSERT INTO t VALUES (1) RETURNING x"))
        assert raised.value.reason == "read-only"
    finally:
        engine.dispose()


def test_a_full_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "full.db")
    connection.execute("CREATE TABLE t (x BLOB)")
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO t VALUES (zeroblob(100000))")
    connection.close()
    assert unavailable_reason(raised.value) == "full"


def test_a_bug_is_not_called_unavailable(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "a.db")
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("SELECT * FROM no_such_table")
    connection.close()
    assert unavailable_reason(raised.value) is None
    assert unavailable_reason(ValueError("x")) is None


def test_postgres_unreachable_and_read_only() -> None:
    server = require_postgres()
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)
    assert unavailable_reason(refused.value) == "unreachable"
    # As a standby (or a server an operator set read-only) answers a write.
    read_only_dsn = _libpq(server)
    with (
        psycopg.connect(read_only_dsn, options="-c default_transaction_read_only=on") as connection,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as read_only,
    ):
        connection.execute("CREATE TABLE never_made (x int)")  # refused
    assert unavailable_reason(read_only.value) == "read-only"
