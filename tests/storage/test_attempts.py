"""Wrong guesses are counted in the database, so the limit holds across worker processes."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import pytest

from core import attempts
from core.attempts import AttemptLimit
from core.errors import TooManyAttempts
from storage.database import SqlDatabase
from tests.storage.helpers import in_processes

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LIMIT = AttemptLimit(kind="test_code", wrong=12, window=timedelta(minutes=10))
PROCESSES = 4
GUESSES = 10


def guess(db: SqlDatabase, subject: str, right: bool = False, at: datetime = T0) -> str | None:
    """One guess; "refused" when the limit stopped it."""
    try:
        return db.run(
            lambda uow: attempts.guarded(uow, LIMIT, subject, at, lambda: "ok" if right else None)
        )
    except TooManyAttempts:
        return "refused"


def test_wrong_guesses_are_counted_per_subject_and_window(db: SqlDatabase) -> None:
    assert [guess(db, "member:1") for _ in range(LIMIT.wrong)] == [None] * LIMIT.wrong
    assert guess(db, "member:1") == "refused"
    assert guess(db, "member:1", right=True) == "refused"  # blocked is blocked
    assert guess(db, "member:2", right=True) == "ok"
    later = T0 + LIMIT.window + timedelta(seconds=1)
    assert guess(db, "member:1", right=True, at=later) == "ok"
    assert guess(db, "member:1", at=later) is None  # a new window


def test_right_guesses_do_not_use_up_the_limit(db: SqlDatabase) -> None:
    for _ in range(3 * LIMIT.wrong):
        assert guess(db, "member:1", right=True) == "ok"
    with pytest.raises(TooManyAttempts) as refused:
        for _ in range(LIMIT.wrong + 1):
            db.run(lambda uow: attempts.guarded(uow, LIMIT, "member:1", T0, lambda: None))
    assert refused.value.params == {"limit": 12, "minutes": 10, "until": T0 + LIMIT.window}


def _guess_many(url: str, start: Barrier, results: multiprocessing.Queue[int]) -> None:
    """In a child process: GUESSES wrong guesses by one subject; how many were let through."""
    db = SqlDatabase.from_url(url)
    try:
        db.run(lambda uow: uow.members.by_id(0), write=False)  # connect before the start line
        start.wait()
        results.put(sum(guess(db, "member:7") is None for _ in range(GUESSES)))
    finally:
        db.dispose()


def test_the_limit_holds_across_processes(db: SqlDatabase, migrated_url: str) -> None:
    let_through = sum(in_processes(_guess_many, (migrated_url,), PROCESSES))
    assert let_through == LIMIT.wrong  # not one more, however the guesses interleaved
