"""Alembic environment: migrates the connection `storage.migrate` passes, or a URL."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

import storage.tables
from storage.engine import create_engine_for

config = context.config
if config.config_file_name is not None:  # the developer CLI; the app keeps its own logging
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = storage.tables.metadata
# Any constant shared by every process that migrates this database.
_MIGRATION_LOCK = 7_270_041_001


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("LOYALTY_DATABASE_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set LOYALTY_DATABASE_URL (or sqlalchemy.url) to migrate")
    return str(url)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # Our SQLite engine begins real transactions (BEGIN IMMEDIATE), so DDL is transactional.
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two workers starting together must not both create the tables; SQLite's
            # BEGIN IMMEDIATE already serialises them.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the given connection, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine_for(_url())
    try:
        with engine.connect() as new_connection:
            _migrate(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
