"""Database fixtures for every test folder: the same tests on SQLite and on PostgreSQL.

Registered for the whole suite by `tests/conftest.py`. PostgreSQL comes from
LOYALTY_TEST_POSTGRES_URL; each test gets its own schema (via search_path), dropped afterwards,
so runs can repeat and other modules can share the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage.database import SqlDatabase
from storage.migrate import upgrade

POSTGRES_URL_ENV = "LOYALTY_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENGINES = ["sqlite", "postgresql"]


def postgres_server_url() -> str:
    """The PostgreSQL server tests use (a database they may create schemas in)."""
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def _postgres_problem(url: str) -> str | None:
    """Why the server cannot be used, or None; asked once per session."""
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None


def require_postgres() -> str:
    """The server URL; skips the test when it is unreachable, or fails it when CI is set."""
    url = postgres_server_url()
    problem = _postgres_problem(url)
    if problem is not None:
        message = f"PostgreSQL at {url} is unreachable ({problem}); set {POSTGRES_URL_ENV}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} - CI must run the PostgreSQL tests")
        pytest.skip(message)
    return url


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh, empty schema; yields a URL whose connections use it, and drops it after."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    url = make_url(server_url).update_query_dict({"options": f"-c search_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextmanager
def fresh_database_url(engine: str, directory: Path) -> Iterator[str]:
    """An empty database on `engine` ("sqlite": a file in `directory`, or "postgresql")."""
    if engine == "sqlite":
        yield f"sqlite:///{directory / 'loyalty.db'}"
        return
    with postgres_schema(require_postgres()) as url:
        yield url


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, once on SQLite (a WAL file) and once on PostgreSQL (a new schema)."""
    with fresh_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """`database_url` with every migration applied."""
    upgrade(database_url)
    return database_url


@pytest.fixture
def db(migrated_url: str) -> Iterator[SqlDatabase]:
    """A `SqlDatabase` on a migrated, empty database; on both engines."""
    database = SqlDatabase.from_url(migrated_url)
    try:
        yield database
    finally:
        database.dispose()
