"""Migrations create the whole schema on both engines, and re-running them changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, insert, inspect, select, text

from core.model import MEMBER_PURPOSES, Purpose
from storage.database import SqlDatabase
from storage.engine import create_engine_for
from storage.migrate import alembic_config, upgrade
from storage.outbox_queue import SqlOutboxQueue
from storage.sql import flavor_for
from storage.tables import JournalRow, MemberRow, PurchaseDayRow, PurchaseRow, metadata

PARTIAL_INDEXES = {
    "ix_lot_member_available",
    "ix_lot_member_pending",
    "ix_lot_expiry_due",
    "ix_lot_release_due",
    "uq_account_system_purpose",
    "ix_outbox_nudge",
    "ix_outbox_winback",
    "ix_identity_time_zone",
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
        other_indexes = {
            i["name"] for table in ("outbox", "identity") for i in inspector.get_indexes(table)
        }
        assert lot_indexes | account_indexes | other_indexes >= PARTIAL_INDEXES
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


# The head as Alembic chains the revisions (branches merged later are re-chained, so the
# highest number is not necessarily the last).
LATEST_REVISION = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_at_head_is_a_no_op(database_url: str) -> None:
    upgrade(database_url)
    before = _snapshot(database_url)
    upgrade(database_url)
    assert _snapshot(database_url) == before
    assert before[0] == LATEST_REVISION


def test_0002_backfills_daily_totals_from_existing_purchases(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.commit()
        with engine.begin() as conn:
            _purchases_under_0001(conn)
        with engine.connect() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
            conn.commit()
        day_table = PurchaseDayRow.__table__
        with engine.connect() as conn:
            rows = conn.execute(select(day_table).order_by(day_table.c.member_id, day_table.c.day))
            days = [(r.member_id, r.day, r.spend_minor, r.points) for r in rows]
    finally:
        engine.dispose()
    assert days == [
        # 1,000 + 500 - 300 refunded, 10 + 5 - 3; 23:59 UTC is still 1 March.
        (1, date(2026, 3, 1), 1_200, 12),
        # 00:00 UTC starts 2 March; fully refunded purchases stay as a zero row.
        (1, date(2026, 3, 2), 0, 0),
        # 01:30 at UTC+3 on 4 March is 22:30 UTC on 3 March.
        (1, date(2026, 3, 3), 800, 8),
        (2, date(2026, 3, 1), 2_500, 25),
    ]
    # The repository reads the backfilled totals, day-granular.
    db = SqlDatabase.from_url(database_url)
    try:
        since = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
        assert db.run(lambda uow: uow.purchases.qualifying(1, since)) == (2_000, 20)
        assert db.run(lambda uow: uow.purchases.qualifying(2, since)) == (2_500, 25)
    finally:
        db.dispose()


def _purchases_under_0001(conn: Connection) -> None:
    """Two members and their purchases (some refunded), written with 0001's schema only."""
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for member_id in (1, 2):
        conn.execute(
            insert(MemberRow.__table__).values(
                id=member_id, code=f"C-{member_id}", code_key=f"C{member_id}",
                display_name=f"M{member_id}", role=0, created_at=at,
            )
        )  # fmt: skip
    conn.execute(
        insert(JournalRow.__table__).values(
            id=1, kind="earn", key="bulk", request_hash="-", effective_at=at, created_at=at,
            meta="{}",
        )
    )  # fmt: skip
    plus3 = timezone(timedelta(hours=3))
    purchases = [
        ("R-1", 1, 1_000, 10, datetime(2026, 3, 1, 0, 0, tzinfo=UTC), 300, 3),
        ("R-2", 1, 500, 5, datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC), 0, 0),
        ("R-3", 1, 700, 7, datetime(2026, 3, 2, 0, 0, tzinfo=UTC), 700, 7),
        ("R-4", 1, 800, 8, datetime(2026, 3, 4, 1, 30, tzinfo=plus3), 0, 0),
        ("R-5", 2, 2_500, 25, datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 0, 0),
    ]
    conn.execute(
        insert(PurchaseRow.__table__),
        [
            {"receipt": receipt, "member_id": member_id, "amount_minor": minor,
             "points": points, "lot_id": None, "journal_id": 1, "occurred_at": occurred_at,
             "refunded_minor": refunded_minor, "refunded_points": refunded_points}
            for receipt, member_id, minor, points, occurred_at, refunded_minor, refunded_points
            in purchases
        ],
    )  # fmt: skip


def _migrate(database_url: str, revision: str, down: bool = False) -> None:
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, revision)
            conn.commit()
    finally:
        engine.dispose()


def _read(database_url: str, *queries: str) -> list[list[tuple[object, ...]]]:
    """The rows of each query, read on a new engine."""
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            return [[tuple(row) for row in conn.exec_driver_sql(q).all()] for q in queries]
    finally:
        engine.dispose()


def test_0004_keeps_outbox_rows_and_the_notifications_switch_meaningful(
    database_url: str,
) -> None:
    _migrate(database_url, "0003")
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    engine = create_engine_for(database_url)
    stored = flavor_for(engine.dialect.name).bind_time(at)  # as the repositories store it
    try:
        with engine.begin() as conn:
            for member_id, switch in ((1, True), (2, False)):
                conn.execute(
                    text(
                        "INSERT INTO member (id, code, code_key, display_name, role, created_at,"
                        " notifications) VALUES (:id, :code, :code, 'M', 0, :at, :switch)"
                    ),
                    {"id": member_id, "code": f"C{member_id}", "at": stored, "switch": switch},
                )
            rows = [
                (1, "points_earned", "queued", None),
                (1, "kudos_received", "sent", None),
                (2, "points_awarded", "failed", "no member or opted out"),
                (1, "points_refunded", "failed", "RetryAfter(5)"),
            ]
            for n, (member_id, kind, status, error) in enumerate(rows):
                conn.execute(
                    text(
                        "INSERT INTO outbox (member_id, kind, params, dedupe_key, status,"
                        " attempts, not_before, created_at, last_error) VALUES (:m, :kind,"
                        " :params, :key, :status, 1, :at, :at, :error)"
                    ),
                    {"m": member_id, "kind": kind, "params": '{"points":5}', "key": f"k{n}",
                     "status": status, "at": stored, "error": error},
                )  # fmt: skip
    finally:
        engine.dispose()

    _migrate(database_url, "0004")
    outbox, opted_out, member = _read(
        database_url,
        "SELECT member_id, message_key, category, status, last_error, channel_id, buttons,"
        " image_digest FROM outbox ORDER BY id",
        "SELECT member_id, category FROM opt_out",
        "SELECT time_zone, quiet_start, quiet_end FROM member ORDER BY id",
    )
    assert outbox == [
        (1, "notify.points_earned", "transactional", "queued", None, None, None, None),
        (1, "notify.kudos_received", "transactional", "sent", None, None, None, None),
        (2, "notify.points_awarded", "transactional", "skipped", "opted_out", None, None, None),
        (1, "notify.points_refunded", "transactional", "failed", "RetryAfter(5)", None, None,
         None),
    ]  # fmt: skip
    assert opted_out == [(2, "broadcast")]
    assert member == [(None, None, None)] * 2
    # The queued row is claimed as a v2 message, and the opt-out reads as a preference.
    db = SqlDatabase.from_url(database_url)
    try:
        (queued,) = SqlOutboxQueue(db).claim(at, at + timedelta(minutes=5), 10)
        assert (queued.key, queued.params, queued.recipient.member_id) == (
            "notify.points_earned",
            {"points": 5},
            1,
        )
        assert db.run(lambda uow: uow.preferences.get(2).opted_out) == {"broadcast"}
    finally:
        db.dispose()

    _migrate(database_url, "0003", down=True)  # and back, for an operator who must
    kinds, switches = _read(
        database_url,
        "SELECT kind, status FROM outbox ORDER BY id",
        "SELECT id, notifications FROM member ORDER BY id",
    )
    assert kinds == [
        ("points_earned", "queued"),
        ("kudos_received", "sent"),
        ("points_awarded", "failed"),
        ("points_refunded", "failed"),
    ]
    assert [(r[0], bool(r[1])) for r in switches] == [(1, True), (2, False)]


def test_0016_keeps_every_nudge_as_its_outbox_row_and_back(database_url: str) -> None:
    _migrate(database_url, "0015")
    at = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    engine = create_engine_for(database_url)
    stored = flavor_for(engine.dialect.name).bind_time(at)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO member (id, code, code_key, display_name, role, created_at)"
                    " VALUES (1, 'C1', 'C1', 'M', 0, :at)"
                ),
                {"at": stored},
            )
            # Two nudges as the planner wrote them (a nudge row and its outbox row), and one
            # whose outbox row is missing.
            for key, kind, category in (
                ("streak:1:daily:2026-06", "streak", "streak"),
                ("birthday:1:2026", "birthday", "birthday_wishes"),
                ("winback:1:2026-04-01", "winback", "winback"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO nudge (dedupe_key, member_id, kind, planned_at)"
                        " VALUES (:key, 1, :kind, :at)"
                    ),
                    {"key": key, "kind": kind, "at": stored},
                )
                if kind != "winback":
                    conn.execute(
                        text(
                            "INSERT INTO outbox (member_id, message_key, params, category,"
                            " dedupe_key, status, attempts, not_before, created_at)"
                            " VALUES (1, :message, '{}', :category, :key, 'sent', 1, :at, :at)"
                        ),
                        {"message": f"nudge.{kind}", "category": category,
                         "key": f"nudge:{key}", "at": stored},
                    )  # fmt: skip
    finally:
        engine.dispose()

    _migrate(database_url, "0016")
    (outbox,) = _read(
        database_url,
        "SELECT member_id, message_key, category, dedupe_key, status FROM outbox ORDER BY id",
    )
    assert outbox == [
        (1, "nudge.streak", "streak", "nudge:streak:1:daily:2026-06", "sent"),
        (1, "nudge.birthday", "birthday_wishes", "nudge:birthday:1:2026", "sent"),
        (1, "nudge.winback", "winback", "nudge:winback:1:2026-04-01", "skipped"),
    ]
    engine = create_engine_for(database_url)
    try:
        assert "nudge" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

    _migrate(database_url, "0015", down=True)
    (nudges,) = _read(
        database_url, "SELECT dedupe_key, member_id, kind FROM nudge ORDER BY dedupe_key"
    )
    assert nudges == [
        ("birthday:1:2026", 1, "birthday"),
        ("streak:1:daily:2026-06", 1, "streak"),
        ("winback:1:2026-04-01", 1, "winback"),
    ]
