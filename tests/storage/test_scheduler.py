"""The scheduler over a real database: its jobs release and expire what is due."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.scheduler import Scheduler, catch_up
from core.commands import AwardPoints, RecordPurchase
from core.loyalty import Loyalty
from storage.database import SqlDatabase
from storage.leader import SoleLeader
from tests.storage.ledger_checks import T0, LedgerChecker, ManualClock, make_program, person


def shop_with_due_lots(db: SqlDatabase) -> tuple[Loyalty, int]:
    """Ann with 50 points due to expire and 20 pending points due for release."""
    clock = ManualClock()
    app = Loyalty(db, make_program(signup=False), clock)
    ann = app.enroll(person("ann")).member.id
    app.award(
        AwardPoints(member_id=ann, key="gw-1", reason="goodwill", points=50)
    )  # expires on day 10
    clock.advance(timedelta(days=9))
    app.record_purchase(
        RecordPurchase(member_id=ann, receipt="R-1", amount_minor=20_00)
    )  # pending until the end of day 12 in the program's zone
    clock.at = T0 + timedelta(days=13, hours=1)
    return app, ann


def sweep_journals(db: SqlDatabase) -> list[str]:
    """Keys of the release and expiry journals, in one statement (a consistent read while the
    scheduler writes, which the several queries of LedgerChecker are not on PostgreSQL)."""
    query = text("SELECT key FROM journal WHERE kind IN ('release', 'expire') ORDER BY key")
    with db.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def state(db: SqlDatabase, member_id: int) -> tuple[tuple[int, int, int], int]:
    """The member's (available, pending, debt) and the expired account, read from the tables."""
    facts = LedgerChecker(db.engine).check()
    return facts.balances[member_id], facts.system.get("expired", 0)


async def test_the_running_scheduler_releases_and_expires_due_lots(
    db: SqlDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    app, ann = shop_with_due_lots(db)
    assert state(db, ann) == ((50, 20, 0), 0)
    scheduler = Scheduler(
        app, SoleLeader(), release_every=0.02, expire_every=0.02, first_expire_after=0
    )
    reports = {"released 20 points (1 lots)", "expired 50 points (1 lots)"}
    await scheduler.start()
    try:
        # Each job reports once its sweep is done (a journal alone may still be mid-sweep).
        deadline = time.monotonic() + 3
        while not reports <= set(caplog.messages):
            assert time.monotonic() < deadline, f"only {caplog.messages}"
            await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
    assert state(db, ann) == ((20, 0, 0), 50)
    assert len(await asyncio.to_thread(sweep_journals, db)) == 2


def test_catch_up_brings_the_database_up_to_date_at_once(db: SqlDatabase) -> None:
    app, ann = shop_with_due_lots(db)
    catch_up(app)
    assert state(db, ann) == ((20, 0, 0), 50)
    catch_up(app)  # idempotent
    assert state(db, ann) == ((20, 0, 0), 50)
