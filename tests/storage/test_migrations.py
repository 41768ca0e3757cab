"""Migrations create the whole schema on both engines, and re-running them changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.model import MEMBER_PURPOSES, Purpose
from storage.engine import create_engine_for
from storage.migrate import upgrade
from storage.tables import metadata

PARTIAL_INDEXES = {
    "ix_lot_member_available",
    "ix_lot_member_pending",
    "ix_lot_expiry_due",
    "ix_lot_release_due",
    "uq_account_system_purpose",
}


def _snapshot(url: str) -> tuple[str | None, list[tuple[int, str]]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            version = MigrationContext.configure(conn).get_current_revision()
            accounts = conn.exec_driver_sql("SELECT id, purpose FROM account ORDER BY id").all()
        return version, [(int(row[0]), str(row[1])) for row in accounts]
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_index_and_system_account(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine_for(database_url)
    try:
        inspector = inspect(engine)
        assert set(metadata.tables) <= set(inspector.get_table_names())
        lot_indexes = {i["name"] for i in inspector.get_indexes("lot")}
        account_indexes = {i["name"] for i in inspector.get_indexes("account")}
        assert lot_indexes | account_indexes >= PARTIAL_INDEXES
        with engine.connect() as conn:
            # The schema matches the SQLModel tables: autogenerate would find nothing to do.
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()
    _, accounts = _snapshot(database_url)
    system = {p for p in Purpose if not p.is_member}
    assert {Purpose(purpose) for _, purpose in accounts} == system
    assert not {Purpose(purpose) for _, purpose in accounts} & MEMBER_PURPOSES


def test_partial_indexes_keep_their_predicates(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type='index'"
                )
            else:
                rows = conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                )
            definitions = {name: sql for name, sql in rows if name in PARTIAL_INDEXES}
    finally:
        engine.dispose()
    assert set(definitions) == PARTIAL_INDEXES
    assert all(" WHERE " in sql for sql in definitions.values())


def test_upgrade_at_head_is_a_no_op(database_url: str) -> None:
    upgrade(database_url)
    before = _snapshot(database_url)
    upgrade(database_url)
    assert _snapshot(database_url) == before
    assert before[0] == "0001"
