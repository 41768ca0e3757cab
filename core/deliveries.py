"""Inbound deliveries handled once: which delivery the current command is handling.

A platform adapter keeps each update (or event) in the database before it acknowledges it,
then handles it holding a lease (`DeliveryRepository.acquire`). The command's own write
transaction settles the delivery (`settle`): the effect and the "handled" mark commit together
or not at all. So a crash anywhere means the delivery is still pending; when its lease runs out
another worker takes it over (`take_over`) and handles it again, and a handling whose lease was
taken over meanwhile finds it settled by the other and rolls its own effect back
(`DeliveryTaken`). Never lost, never twice.

The delivery being handled travels in a context variable, set by the adapter around the
command: the core services and the router need not pass it through every call, and the
database settles it in whichever write transaction the command makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.ports import Clock, Database

# Long enough for a command to commit (they take milliseconds); a worker that died frees its
# deliveries after this long.
LEASE = timedelta(seconds=60)

# Where a delivery stands (`DeliveryRepository.status`).
NEW = "new"  # in no table: never stored, never recorded
DONE = "done"
HELD = "held"  # pending, under a lease that has not run out
LAPSED = "lapsed"  # pending, its lease ran out: any handling may take it


@dataclass(kw_only=True)
class Delivery:
    """One handling of one delivery: its key (`tg:<update_id>`, `slack:<event_id>`), the
    token of this handling's lease, and whether a committed transaction settled it."""

    key: str
    holder: str
    settled: bool = False
    # Its command failed unexpectedly (a bug, a database that went away mid-command): nothing
    # took effect, so it must not be marked done; its lease runs out and it is handled again.
    failed: bool = False
    # Kept (or taken over) by this process a moment ago: its lease is this handling's, so
    # handling it needs no acquire (a write) first; if it outlives that lease and another
    # worker takes it over, its settle finds out (DeliveryTaken).
    fresh: bool = False
    # Set when the delivery is in no table (long polling, seen by this process first): no
    # lease is written before the command runs, so a read-only command (/balance) takes no
    # write lock at all; the command's first write transaction records it, done, at this
    # time, and a handling that recorded it first makes that transaction roll back.
    unrecorded_since: datetime | None = None


class DeliveryTaken(Exception):
    """Another handling of this delivery took effect first (this one's lease had run out and
    was taken over); this handling's transaction is rolled back and it says nothing."""

    def __init__(self, key: str) -> None:
        super().__init__(f"delivery {key} was handled by another worker")
        self.key = key


_handling: ContextVar[Delivery | None] = ContextVar("loyalty_delivery", default=None)


@contextmanager
def handling(delivery: Delivery) -> Iterator[None]:
    """Within this block, every write transaction settles `delivery`."""
    token = _handling.set(delivery)
    try:
        yield
    finally:
        _handling.reset(token)


@contextmanager
def aside() -> Iterator[None]:
    """Within this block, write transactions do not settle the delivery: for a command's
    preparatory writes that may simply run again if the delivery is handled again (a guess
    counted, a person enrolled on sight), so that only the transaction of the command's own
    effect marks it handled. Settling in the first of two would lose the second on a crash
    between them."""
    token = _handling.set(None)
    try:
        yield
    finally:
        _handling.reset(token)


def enter(delivery: Delivery) -> None:
    """From now on in this task (and the tasks and threads it starts), write transactions
    settle `delivery`: for a framework that runs the handler after the caller returns (bolt's
    listeners run after its middleware). The task must be this delivery's own."""
    _handling.set(delivery)


def current() -> Delivery | None:
    """The delivery the running command handles, if any."""
    return _handling.get()


def new_handling(key: str, fresh: bool = False) -> Delivery:
    """A handling of `key` with a lease token of its own."""
    return Delivery(key=key, holder=uuid.uuid4().hex, fresh=fresh)


class Inbound:
    """Keeping, holding and taking over inbound deliveries (see the module's docstring)."""

    def __init__(self, db: Database, clock: Clock, lease: timedelta = LEASE) -> None:
        self.db = db
        self.clock = clock
        self.lease = lease

    def keep(self, key: str, payload: str) -> Delivery | None:
        """Store a delivery before acknowledging it, held by a new handling for one lease;
        None when it was stored before (a redelivery: acknowledge it, do nothing)."""
        delivery = new_handling(key, fresh=True)
        now = self.clock.now()
        kept = self.db.run(
            lambda uow: uow.deliveries.store(key, payload, delivery.holder, now, now + self.lease)
        )
        return delivery if kept else None

    def hold(self, delivery: Delivery) -> bool:
        """Hold `delivery` for this handling; False when handled or held by another."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: uow.deliveries.acquire(delivery.key, delivery.holder, now, now + self.lease)
        )

    def finish(self, delivery: Delivery) -> None:
        """Mark a handling done whose command wrote nothing (its write transactions settle
        it otherwise); a handling taken over meanwhile leaves the row to the other."""
        with aside():  # this write is the mark itself
            self.db.run(lambda uow: uow.deliveries.settle(delivery.key, delivery.holder))
        delivery.settled = True

    def take_over(self, prefix: str, limit: int = 100) -> list[tuple[Delivery, str]]:
        """Stored deliveries (keys starting with `prefix`) left pending by a handling whose
        lease ran out (a worker died, or never got to them): each with its payload, now held
        by a new handling in this process."""
        now = self.clock.now()
        base = uuid.uuid4().hex + ":"
        rows = self.db.run(
            lambda uow: uow.deliveries.take_over(prefix, base, now, now + self.lease, limit)
        )
        return [
            (Delivery(key=key, holder=holder, fresh=True), payload) for key, payload, holder in rows
        ]
