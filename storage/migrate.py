"""Bring a database's schema to the latest migration, from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.engine import create_engine_for

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at storage/migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url is not None:
        # Passed as an attribute, not a main option: ConfigParser would read '%' as interpolation.
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Run `alembic upgrade head` against `database_url`; a no-op when already at head."""
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    finally:
        engine.dispose()
