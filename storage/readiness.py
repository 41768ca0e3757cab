"""Opening the configured database, or saying in one line why it cannot be used.

A wrong DATABASE_URL (garbage, an engine we do not support, a missing directory, a closed
port, an unknown database or role) or a PostgreSQL database that was never migrated is found
here, at start-up, rather than by the first command that touches a table.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from core.bus import MessageBus
from storage.database import SqlDatabase
from storage.engine import create_engine_for
from storage.revisions import current_revision, head, revisions


class DatabaseProblem(Exception):
    """The database cannot be used; the message says why and what to do, in one line."""


def ready_database(url: str, migrate: bool, bus: MessageBus | None = None) -> SqlDatabase:
    """The database at `url` at the latest schema: migrated first when `migrate`, otherwise
    checked (DatabaseProblem when it is not up to date or cannot be reached); its domain
    events go to `bus`."""
    engine = _engine(url)
    shown = _shown(url)
    try:
        if migrate and _current(engine) != head():
            _upgrade(url)  # Alembic is imported only when there is something to migrate
        _check_revision(engine, shown)
    except DatabaseProblem:
        engine.dispose()
        raise
    except (DBAPIError, sqlite3.Error, psycopg.Error, OSError) as error:
        engine.dispose()
        raise DatabaseProblem(f"cannot use the database at {shown}: {_reason(error)}") from None
    return SqlDatabase(engine, bus=bus)


def migrate_database(url: str) -> None:
    """`loyalty db upgrade`: migrate to the latest schema, or DatabaseProblem."""
    ready_database(url, migrate=True).dispose()


def _engine(url: str) -> Engine:
    try:
        return create_engine_for(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        if isinstance(error, ValueError) and "unsupported database" in str(error):
            raise DatabaseProblem(f"DATABASE_URL: {error} (use SQLite or PostgreSQL)") from None
        raise DatabaseProblem(
            "DATABASE_URL is not a database URL we can use: write sqlite:///path/to/loyalty.db"
            " or postgresql://user:password@host/database"
        ) from None


def _upgrade(url: str) -> None:
    from alembic.util.exc import CommandError

    from storage.migrate import upgrade

    try:
        upgrade(url)
    except CommandError as error:
        raise DatabaseProblem(
            f"cannot use the database at {_shown(url)}: {_reason(error)}"
        ) from None


def _current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return current_revision(connection)


def _check_revision(engine: Engine, shown: str) -> None:
    latest = head()
    current = _current(engine)
    if current is not None and current == latest:
        return _check_schema(engine, shown, current)
    if current is None:
        raise DatabaseProblem(
            f"the database at {shown} is not migrated: run `loyalty db upgrade` first"
        )
    if current not in revisions():
        raise DatabaseProblem(
            f"the database at {shown} is at revision {current}, which this version does not"
            " know: it was migrated by a newer version of Loyalty Bot"
        )
    raise DatabaseProblem(
        f"the database at {shown} is at revision {current}, not {latest}: run `loyalty db upgrade`"
    )


def _check_schema(engine: Engine, shown: str, revision: str) -> None:
    """The revision is the head, yet every table and column must be there too: a database
    made while a migration was later re-ordered (a development build's) says it is up to date
    but lacks what the moved migration makes, and every command would fail on it.

    The expected names come from `storage.schema_columns` (kept equal to the models by a test)
    and the present ones from one catalog query: importing the models and reflecting every
    table took most of `loyalty report`'s start-up."""
    from storage.schema_columns import COLUMNS

    query = _PG_COLUMNS if engine.dialect.name == "postgresql" else _SQLITE_COLUMNS
    with engine.connect() as connection:
        present = {(str(row[0]), str(row[1])) for row in connection.execute(query)}
    tables = {table for table, _ in present}
    missing = [
        table if table not in tables else f"{table}.{column}"
        for table, columns in COLUMNS.items()
        for column in columns
        if (table, column) not in present
    ]
    if missing:
        raise DatabaseProblem(
            f"the database at {shown} says it is at revision {revision} but lacks"
            f" {_listed(list(dict.fromkeys(missing)))}: it was made by a development build whose"
            " migrations changed since; keep a copy and start from a new database"
        )


# Tables and their columns in the connection's schema (the search path's first, as the app's).
_PG_COLUMNS = text(
    "SELECT c.relname, a.attname FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    " AND a.attnum > 0 AND NOT a.attisdropped"
)
_SQLITE_COLUMNS = text(
    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
    " WHERE m.type = 'table'"
)


def _listed(names: list[str]) -> str:
    """At most three names, then how many more."""
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def _shown(url: str) -> str:
    """The URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _reason(error: BaseException) -> str:
    """The one line of a driver error that says what is wrong."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    text = str(error).strip()
    if isinstance(error, sqlite3.OperationalError) and "unable to open" in text:
        return "cannot open the SQLite file (does its directory exist, and may we write there?)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:  # PostgreSQL puts the cause after "FATAL:"
        if "FATAL:" in line:
            return line.split("FATAL:", 1)[1].strip()
    first = lines[0] if lines else type(error).__name__
    return first.removeprefix("connection failed: ")
