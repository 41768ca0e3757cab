"""Leader election on PostgreSQL: one advisory-lock holder, and a takeover when it goes."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from bot.scheduler import Scheduler
from core.results import SweepResult
from storage.engine import create_engine_for
from storage.leader import AdvisoryLockLeader, SoleLeader, leader_for
from tests.storage.fixtures import _libpq, postgres_schema, require_postgres


@pytest.fixture
def schema_url() -> Iterator[str]:
    """A URL on a fresh PostgreSQL schema (the lock is per schema, so tests never contend)."""
    with postgres_schema(require_postgres()) as url:
        yield url


@pytest.fixture
def engines(schema_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database, as two worker processes would have."""
    pair = (create_engine_for(schema_url), create_engine_for(schema_url))
    yield pair
    for engine in pair:
        engine.dispose()


def test_only_one_leader_until_it_releases(engines: tuple[Engine, Engine]) -> None:
    first, second = AdvisoryLockLeader(engines[0]), AdvisoryLockLeader(engines[1])
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.try_acquire()  # a leader stays leader
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def test_a_dead_leaders_lock_passes_to_the_next(engines: tuple[Engine, Engine]) -> None:
    first, second = AdvisoryLockLeader(engines[0]), AdvisoryLockLeader(engines[1])
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        pid = first._connection.info.backend_pid  # its session ends as if the process died
        server = require_postgres()
        with psycopg.connect(_libpq(server), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert second.try_acquire()
        assert not first.try_acquire()  # it notices the lost connection and stands down
    finally:
        first.release()
        second.release()


def test_shops_in_separate_schemas_elect_separately(engines: tuple[Engine, Engine]) -> None:
    with postgres_schema(require_postgres()) as other_url:
        other = create_engine_for(other_url)
        here, there = AdvisoryLockLeader(engines[0]), AdvisoryLockLeader(other)
        try:
            assert here.try_acquire() and there.try_acquire()
        finally:
            here.release()
            there.release()
            other.dispose()


def test_the_leader_fits_the_engine(engines: tuple[Engine, Engine]) -> None:
    assert isinstance(leader_for(engines[0]), AdvisoryLockLeader)
    sqlite = create_engine_for("sqlite://")
    assert isinstance(leader_for(sqlite), SoleLeader)
    assert SoleLeader().try_acquire()


class NoSweeps:
    """Fails the test if a sweep runs."""

    def release_due(self, limit: int = 500) -> SweepResult:
        raise AssertionError("a non-leader released")

    def expire_due(self, limit: int = 500) -> SweepResult:
        raise AssertionError("a non-leader expired")

    def return_expired_vouchers(self, limit: int = 500) -> SweepResult:
        raise AssertionError("a non-leader returned vouchers")


async def test_a_scheduler_without_the_lock_stands_by(engines: tuple[Engine, Engine]) -> None:
    holder = AdvisoryLockLeader(engines[0])
    assert holder.try_acquire()
    standby = Scheduler(NoSweeps(), AdvisoryLockLeader(engines[1]), first_expire_after=0)
    await standby.start()
    try:
        assert not standby.leading
        await standby.expire()  # a job firing on a non-leader does nothing
        holder.release()
        await standby.elect()
        assert standby.leading
    finally:
        await standby.stop()
        holder.release()
    assert not standby.leading
