"""`SqlDatabase`: runs a unit of work in one transaction, retrying transient failures."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

from core import deliveries
from core.bus import MessageBus
from core.deliveries import DeliveryTaken
from core.errors import DomainError, StorageUnavailable
from core.model import Purpose
from core.ports import RecognitionUnitOfWork
from storage.engine import create_engine_for
from storage.errors import is_transient, unavailable_reason
from storage.sql import Cursor, Sql, flavor_for
from storage.uow import SqlUnitOfWork

T = TypeVar("T")
log = logging.getLogger(__name__)

ATTEMPTS = 8
_BASE_DELAY = 0.002
_MAX_DELAY = 0.1


class SqlDatabase:
    """`core.ports.Database` and `RecognitionDatabase` on a SQLAlchemy engine."""

    def __init__(
        self, engine: Engine, *, attempts: int = ATTEMPTS, bus: MessageBus | None = None
    ) -> None:
        self.engine = engine
        # The domain events' handlers (none unless the composition root subscribes some).
        self.bus = bus or MessageBus()
        self._flavor = flavor_for(engine.dialect.name)
        self._attempts = attempts
        # System account ids never change once committed, so every transaction shares them.
        self._system_ids: dict[Purpose, int] = {}
        # SQLite lets one writer in at a time and makes the others sleep in its busy handler
        # (1 ms, 2 ms, 5 ms, ... up to 100 ms); queueing this process's writers on a lock
        # instead hands the write lock over at once. Other processes still meet busy_timeout.
        self._writer = threading.Lock() if engine.dialect.name == "sqlite" else None
        # A file in WAL mode: a read never waits for the writer (or anyone), so a command that
        # only reads may run where it is, without a hop to a worker thread (the Telegram
        # adapter; docs/BENCHMARKS.md, /balance). In-memory databases are one per thread.
        self.reads_never_wait = engine.dialect.name == "sqlite" and engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        # Called before each retry of a transaction (metrics count them).
        self.on_retry: Callable[[], None] | None = None
        self._shared = _Shared()  # this thread's `reading()` block and its open transaction

    @classmethod
    def from_url(cls, url: str, bus: MessageBus | None = None) -> SqlDatabase:
        """A database on a new engine for `url`, handing domain events to `bus`."""
        return cls(create_engine_for(url), bus=bus)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def run(self, work: Callable[[RecognitionUnitOfWork], T], *, write: bool = True) -> T:
        """Run `work` in one transaction: commit on return, roll back on any exception.

        The domain events `work` records go to the bus's handlers before the commit, in the
        same transaction; a write transaction inside `core.deliveries.handling` settles that
        delivery in the same commit (DeliveryTaken when another worker holds it now).
        SQLITE_BUSY, deadlocks, serialization failures, lost connections and
        a lost race on a unique business key are retried with jittered backoff (a new unit of
        work: no events, handlers run again); domain errors are not.
        """

        delivery = deliveries.current() if write else None

        def attempt(sql: Sql) -> tuple[T, SqlUnitOfWork]:
            uow = SqlUnitOfWork(sql, self._system_ids)
            result = work(uow)
            self.bus.dispatch(uow)
            # The delivery this command handles is marked handled in the same commit as its
            # effect; when another worker took it over meanwhile, this effect rolls back.
            if delivery is not None and not _settle(uow, delivery):
                raise DeliveryTaken(delivery.key)
            return result, uow

        result, uow = self.run_sql(attempt, write=write)
        if delivery is not None:
            delivery.settled = True
        # Only now, after the commit, may ids of system accounts it created be shared.
        self._system_ids.update(uow.created_system_ids)
        return result

    def run_sql(self, work: Callable[[Sql], T], *, write: bool = True) -> T:
        """As `run`, for storage code that runs its own queries (say, the outbox dispatcher)."""
        attempt = 1
        while True:
            try:
                return self._attempt(work, write)
            except (DomainError, DeliveryTaken):
                raise
            except Exception as exc:
                if attempt >= self._attempts or not is_transient(exc):
                    if (reason := unavailable_reason(exc)) is not None:
                        raise StorageUnavailable(reason) from exc
                    raise
                log.info("retrying transaction (attempt %d): %s", attempt, exc)
                if self.on_retry is not None:
                    self.on_retry()
            delay = min(_BASE_DELAY * 2**attempt, _MAX_DELAY)
            time.sleep(delay * random.uniform(0.5, 1.5))
            attempt += 1

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Within this block, this thread's read-only runs share one read transaction (one
        pooled connection, one BEGIN and COMMIT): a command that reads in several calls of
        the core (who sent it, then their balance) pays for one. A write run ends the shared
        transaction first, so it and every read after it see the database as it is then."""
        if self._shared.scope:  # nested: the outer block owns it
            yield
            return
        self._shared.scope = True
        try:
            yield
        finally:
            self._shared.scope = False
            self._end_shared(commit=True)

    def _attempt(self, work: Callable[[Sql], T], write: bool) -> T:
        if self._shared.scope:
            if not write:
                return self._in_shared(work)
            self._end_shared(commit=True)
        if write and self._writer is not None:
            with self._writer:
                return self._transaction(work, write)
        return self._transaction(work, write)

    def _in_shared(self, work: Callable[[Sql], T]) -> T:
        """`work` in the thread's shared read transaction, opened on first use."""
        shared = self._shared
        if shared.open is None:
            raw = self.engine.raw_connection()
            try:
                cursor = cast(Cursor, cast(Any, raw.driver_connection).cursor())
                self._flavor.begin(cursor, False)
            except BaseException:
                _rollback(raw)
                raw.close()
                raise
            shared.open = (raw, cursor)
        try:
            return work(Sql(shared.open[1], self._flavor))
        except DomainError:  # refused by the core, not by the database: still usable
            raise
        except BaseException:
            self._end_shared(commit=False)  # a retry (or the next read) starts afresh
            raise

    def _end_shared(self, *, commit: bool) -> None:
        opened, self._shared.open = self._shared.open, None
        if opened is None:
            return
        raw, cursor = opened
        try:
            cursor.close()
            if commit:
                cast(Any, raw.driver_connection).commit()
            else:
                _rollback(raw)
        except Exception:
            log.warning("ending a shared read transaction failed", exc_info=True)
            _rollback(raw)
        finally:
            raw.close()

    def _transaction(self, work: Callable[[Sql], T], write: bool) -> T:
        # The pooled driver connection directly: a SQLAlchemy Connection and its begin()
        # would cost about as much as the journal's statements themselves (see storage.sql).
        raw = self.engine.raw_connection()
        try:
            driver = cast(Any, raw.driver_connection)
            cursor = cast(Cursor, driver.cursor())
            try:
                self._flavor.begin(cursor, write)
                result = work(Sql(cursor, self._flavor))
                # Closing first resets a statement the work left unfinished (say, a RETURNING
                # whose row it never fetched), which sqlite3 would refuse to commit over.
                cursor.close()
                driver.commit()
            except BaseException:
                cursor.close()
                _rollback(raw)
                raise
            return result
        finally:
            raw.close()


class _Shared(threading.local):
    """Per thread: inside a `reading()` block, and its open read transaction if any."""

    def __init__(self) -> None:
        self.scope = False
        self.open: tuple[PoolProxiedConnection, Cursor] | None = None


def _settle(uow: SqlUnitOfWork, delivery: deliveries.Delivery) -> bool:
    """Mark the command's delivery handled in its transaction: the stored row it holds, or a
    new row for one in no table yet (long polling); False when another handling has it."""
    if delivery.unrecorded_since is not None:
        return uow.deliveries.record(delivery.key, delivery.holder, delivery.unrecorded_since)
    return uow.deliveries.settle(delivery.key, delivery.holder)


def _rollback(raw: PoolProxiedConnection) -> None:
    """Roll back; a connection that cannot even do that is dropped from the pool."""
    driver = cast(Any, raw.driver_connection)
    try:
        if getattr(driver, "broken", False):
            raise ConnectionError("connection broken")
        driver.rollback()
    except Exception:
        log.warning("dropping a connection that failed to roll back", exc_info=True)
        raw.invalidate()
