"""Engine settings: SQLite pragmas and BEGIN IMMEDIATE; PostgreSQL driver, isolation, UTC."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import SQLITE_BEGIN_OPTION, create_engine_for, normalise_url
from tests.storage.fixtures import require_postgres


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


def test_sqlite_writes_begin_immediate_and_reads_may_defer(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    engine = create_engine_for(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
            # The write lock is taken at BEGIN, before any write: nobody else can start one.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        reader = engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
        with reader, reader.begin():
            reader.execute(text("SELECT 1"))
            other.execute("BEGIN IMMEDIATE")  # a deferred reader leaves the write lock free
            other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    url = normalise_url("postgresql://u:p@db:5432/loyalty")
    assert url.drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported"):
        create_engine_for("mysql://u@h/db")


def test_postgresql_sessions_are_read_committed_in_utc() -> None:
    base = require_postgres()
    engine = create_engine_for(base.replace("postgresql+psycopg://", "postgresql://"))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
            assert conn.exec_driver_sql("SHOW timezone").scalar() == "UTC"
            assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()
