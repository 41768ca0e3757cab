"""Fresh, migrated databases to benchmark on, and bare driver connections to them."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from storage.migrate import upgrade

ENGINES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Target:
    """One benchmark database: its SQLAlchemy URL and how to open a bare driver connection."""

    engine: str
    url: str
    sqlite_path: str | None = None
    libpq: str | None = None
    schema: str | None = None

    def connect(self) -> Any:
        """A driver connection set up exactly as storage.engine sets up its pooled ones."""
        if self.sqlite_path is not None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, like SqlDatabase.
            conn = sqlite3.connect(self.sqlite_path, timeout=5.0, isolation_level=None)
            for pragma in (
                "journal_mode = WAL",
                "synchronous = NORMAL",
                "foreign_keys = ON",
                "busy_timeout = 5000",
            ):
                conn.execute(f"PRAGMA {pragma}")
            return conn
        assert self.libpq is not None and self.schema is not None
        return psycopg.connect(self.libpq, options=f"-c search_path={self.schema} -c timezone=UTC")


@contextmanager
def fresh_target(engine: str, postgres_server: str) -> Iterator[Target]:
    """A new database at the latest migration, removed afterwards."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
            path = str(Path(tmp) / "bench.db")
            url = f"sqlite:///{path}"
            upgrade(url)
            yield Target(engine, url, sqlite_path=path)
        return
    libpq = make_url(postgres_server).set(drivername="postgresql")
    libpq_text = libpq.render_as_string(hide_password=False)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_text, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    scoped = make_url(postgres_server).update_query_dict({"options": f"-c search_path={schema}"})
    try:
        url_text = scoped.render_as_string(hide_password=False)
        upgrade(url_text)
        yield Target(engine, url_text, libpq=libpq_text, schema=schema)
    finally:
        with psycopg.connect(libpq_text, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
