"""The shop's own customer ids: linked to members by staff or by importing a customer list.

A customer id is an identity on the `customer` platform, so `customer:<id>` finds its member
like any chat identity does, and it moves with the member when two memberships merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core import errors
from core.enrollment import unused_code
from core.ledger import issue_points, replayed, request_hash
from core.members import find_member
from core.model import Identity, JournalKind, Member, NewJournal, Purpose, Role
from core.ports import UnitOfWork
from core.pos import CUSTOMER_PLATFORM
from core.program import Program


@dataclass(frozen=True, kw_only=True)
class ImportedCustomer:
    """One row of a customer list: id, name, optional Telegram username, birthday, points."""

    customer_id: str
    name: str
    telegram_username: str | None = None
    birthday: date | None = None
    points: int = 0


@dataclass(frozen=True, kw_only=True)
class CustomerResult:
    member: Member
    created: bool
    opening_points: int = 0


def link_customer(
    uow: UnitOfWork, member_ref: str, customer_id: str, platform: str | None = None
) -> CustomerResult:
    """Link an external customer id to the member staff name; refused when it is another's."""
    member = find_member(uow, member_ref, platform)
    owner = uow.members.by_identity(CUSTOMER_PLATFORM, customer_id)
    if owner is not None and owner.id != member.id:
        raise errors.CustomerTaken(customer=customer_id, name=owner.display_name)
    identity = Identity(
        platform=CUSTOMER_PLATFORM, external_id=customer_id, display_name=member.display_name
    )
    created = uow.members.add_identity(member.id, identity)
    return CustomerResult(member=member, created=created)


def import_customer(
    uow: UnitOfWork, program: Program, customer: ImportedCustomer, now: datetime
) -> CustomerResult:
    """Create a member for a customer once (a rerun finds it); the opening balance is one
    journal keyed by the customer id."""
    existing = uow.members.by_identity(CUSTOMER_PLATFORM, customer.customer_id)
    if existing is not None:
        return CustomerResult(member=existing, created=False)
    identity = Identity(
        platform=CUSTOMER_PLATFORM,
        external_id=customer.customer_id,
        display_name=customer.name,
        username=customer.telegram_username or None,
    )
    member = uow.members.add(unused_code(uow), identity, Role.MEMBER, now, None)
    if customer.birthday is not None:
        uow.members.set_birthday(member.id, customer.birthday)
    if customer.points > 0:
        _opening_balance(uow, program, member, customer, now)
    return CustomerResult(member=member, created=True, opening_points=customer.points)


def _opening_balance(
    uow: UnitOfWork, program: Program, member: Member, customer: ImportedCustomer, now: datetime
) -> None:
    key = f"opening:{customer.customer_id}"
    fingerprint = request_hash(customer=customer.customer_id, points=customer.points)
    if replayed(uow, key, fingerprint) is not None:
        return
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.OPENING,
            key=key,
            request_hash=fingerprint,
            effective_at=now,
            member_id=member.id,
            meta={"ref": customer.customer_id},
        )
    )
    issue_points(
        uow, program, journal_id, member.id, Purpose.ISSUED_OPENING, customer.points, now, 0
    )
