"""One wallet per person: `/link` codes that join a second chat identity to a member, and
merging two memberships through the ledger when both already existed.

The member who asked for the code survives. The other one's balances move in one transfer
journal (available, pending and debt, each from the source's account to the target's, so
the journal sums to zero); its lots move whole, keeping their expiry and hold; purchases,
vouchers, referrals, customer ids and queued messages follow; journals are never rewritten,
so both histories stay and the target's /history shows them together.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import errors
from core.codes import ALPHABET, normalize_code
from core.ledger import LedgerInconsistent, request_hash
from core.members import get_member
from core.model import Balances, Identity, JournalKind, Member, MemberAccounts, NewJournal, Posting
from core.ports import UnitOfWork
from core.program import Program

CODE_LENGTH = 8  # 40 random bits, and the code lives minutes, once


@dataclass(frozen=True, kw_only=True)
class LinkCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    """`outcome`: "joined" (a new identity), "merged" (two members became one) or "already"."""

    outcome: str
    member: Member
    merged_from: Member | None = None
    moved_points: int = 0
    moved_pending: int = 0


def new_link_code(uow: UnitOfWork, program: Program, member_id: int, now: datetime) -> LinkCode:
    """A one-time code the member sends from another chat to join it to this membership."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + timedelta(minutes=program.linking.code_minutes)
    uow.links.add_code(raw, get_member(uow, member_id).id, expires_at)
    return LinkCode(code=f"{raw[:4]}-{raw[4:]}", expires_at=expires_at)


def link_identity(
    uow: UnitOfWork, program: Program, identity: Identity, code: str, now: datetime
) -> LinkResult:
    """Join `identity` to the member who issued `code`, merging its own membership if any."""
    target_id = uow.links.take_code(normalize_code(code), now)
    if target_id is None:
        raise errors.LinkCodeInvalid(code=code)
    target = get_member(uow, target_id)
    source = uow.members.by_identity(identity.platform, identity.external_id)
    if source is None:
        uow.members.add_identity(target.id, identity)
        return LinkResult(outcome="joined", member=target)
    if source.id == target.id:
        return LinkResult(outcome="already", member=target)
    return _merge(uow, program, source, target, now)


def _merge(
    uow: UnitOfWork, program: Program, source: Member, target: Member, now: datetime
) -> LinkResult:
    # Both members' accounts, locked in ascending id order like every journal's.
    first, second = sorted((source, target), key=lambda m: m.id)
    locked = {m.id: _lock(uow, m.id) for m in (first, second)}
    (src_accounts, src), (dst_accounts, dst) = locked[source.id], locked[target.id]
    if _holds_points(src) and _holds_points(dst) and not program.linking.merge_members:
        raise errors.MergeForbidden(name=source.display_name, other=target.display_name)
    meta: dict[str, object] = {
        "ref": source.code,
        "from": source.id,
        "available": src.available,
        "pending": src.pending,
        "debt": src.debt,
    }
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.MERGE,
            key=f"merge:{source.id}",
            request_hash=request_hash(source=source.id, target=target.id),
            effective_at=now,
            member_id=target.id,
            meta=meta,
        )
    )
    postings = _transfer(uow, src_accounts, src, dst_accounts)
    uow.ledger.add_postings(journal_id, postings)
    uow.links.move_member(source.id, target.id)
    return LinkResult(
        outcome="merged",
        member=get_member(uow, target.id),
        merged_from=source,
        moved_points=src.available,
        moved_pending=src.pending,
    )


def _lock(uow: UnitOfWork, member_id: int) -> tuple[MemberAccounts, Balances]:
    accounts = uow.members.accounts(member_id)
    return accounts, uow.ledger.balances(accounts, lock=True)


def _holds_points(balances: Balances) -> bool:
    return bool(balances.available or balances.pending or balances.debt)


def _transfer(
    uow: UnitOfWork, source: MemberAccounts, balances: Balances, target: MemberAccounts
) -> list[Posting]:
    """Postings that move each of the source's balances to the target's same account."""
    postings: list[Posting] = []
    pairs = (
        (source.available, target.available, balances.available),
        (source.pending, target.pending, balances.pending),
    )
    for from_id, to_id, amount in pairs:
        if amount:
            emptied = uow.ledger.debit(from_id, amount)
            if emptied is None:
                raise LedgerInconsistent(f"account {from_id}: balance moved under a lock")
            postings.append(Posting(from_id, -amount, emptied))
            postings.append(Posting(to_id, amount, uow.ledger.credit(to_id, amount)))
    if balances.debt:  # a debt (negative) moves too: the source's is cleared, the target's grows
        owed = -balances.debt
        postings.append(Posting(source.debt, owed, uow.ledger.credit(source.debt, owed)))
        grown = uow.ledger.debit(target.debt, owed, None)
        assert grown is not None  # no floor
        postings.append(Posting(target.debt, -owed, grown))
    return postings
