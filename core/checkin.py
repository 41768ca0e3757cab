"""In-store check-in: staff show today's store code, members send it back with /checkin.

A code is the store's for its own local date only, so yesterday's code, and another store's,
are refused. One visit counts per member, store and local day; the check-in is an event
(`CheckedIn`) that the challenges count as a visit. Store codes are guessable in principle
(20 bits), so every code typed is a guess counted per member (`core.attempts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core import errors
from core.events import CheckedIn
from core.ledger import locked_balances
from core.members import get_member
from core.ports import UnitOfWork
from core.program import Program
from core.stores import Store, code_matches, find_store, store_code


@dataclass(frozen=True, kw_only=True)
class CheckinResult:
    """Where a member checked in, on which store day, and whether it was new."""

    store: Store
    day: date
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class StoreCode:
    """A store's code on its local `day`."""

    store: Store
    day: date
    code: str


def physical_stores(program: Program) -> list[Store]:
    """The stores members can check in at; NoStores when the program lists none."""
    if not program.stores:
        raise errors.NoStores()
    return program.stores


def codes_today(
    program: Program, secret: bytes, now: datetime, wanted: str | None
) -> list[StoreCode]:
    """Today's code of one store (by id or name) or of every store."""
    stores = physical_stores(program)
    if wanted is not None:
        store = find_store(stores, wanted)
        if store is None:
            raise errors.UnknownStore(text=wanted, known=[s.id for s in stores])
        stores = [store]
    return [
        StoreCode(
            store=s, day=(day := s.today(now, program.zone)), code=store_code(secret, s.id, day)
        )
        for s in stores
    ]


def matching_store(
    program: Program, secret: bytes, code: str, now: datetime, wanted: str | None
) -> tuple[Store, date] | None:
    """The store whose code for its local today is `code` (only `wanted`, when given)."""
    stores = physical_stores(program)
    if wanted is not None:
        store = find_store(stores, wanted)
        if store is None:
            raise errors.UnknownStore(text=wanted, known=[s.id for s in stores])
        stores = [store]
    for store in stores:
        day = store.today(now, program.zone)
        if code_matches(secret, store.id, day, code):
            return store, day
    return None


def check_in(
    uow: UnitOfWork,
    program: Program,
    *,
    member_id: int,
    store: Store,
    day: date,
    now: datetime,
) -> CheckinResult:
    """Count a visit at `store` on its local `day` (the code was checked), once per member,
    store and day."""
    get_member(uow, member_id)
    # The member's accounts are locked so that every event counting towards their challenges
    # (a purchase at the till, this check-in) runs one after the other.
    locked_balances(uow, member_id)
    if not uow.checkins.add(member_id, store.id, day, now):
        return CheckinResult(store=store, day=day, duplicate=True)
    uow.domain_events.record(
        CheckedIn(occurred_at=now, member_id=member_id, store_id=store.id, day=day)
    )
    return CheckinResult(store=store, day=day)
