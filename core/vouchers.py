"""Vouchers at the counter: a member's unused vouchers, staff using one once, and the points
of vouchers that expired unused going back to the member (when the program says so)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import errors
from core.ledger import locked_balances, request_hash
from core.members import get_member
from core.model import (
    JournalKind,
    LotState,
    Member,
    NewJournal,
    NewLot,
    Posting,
    Purpose,
    Redemption,
)
from core.ports import UnitOfWork
from core.program import Program
from core.results import SweepResult
from core.sweeps import expire_lot

LIST_LIMIT = 20


@dataclass(frozen=True, kw_only=True)
class VoucherView:
    """A voucher as its holder or the counter sees it."""

    voucher: str
    reward_id: str
    reward_name: str
    valid_until: datetime


@dataclass(frozen=True, kw_only=True)
class VoucherUse:
    """What happened at the counter: `status` is "used", "already_used" or "expired"."""

    status: str
    view: VoucherView
    member: Member
    used_at: datetime | None = None
    used_store: str | None = None
    used_by: str | None = None
    returned_points: int = 0


def normalize_voucher(text: str) -> str:
    """A typed or scanned voucher code in its stored form (LAT-8K2P-Q4MX)."""
    code = text.strip().upper().replace(" ", "")
    if "-" not in code and len(code) == 11:
        code = f"{code[:3]}-{code[3:7]}-{code[7:]}"
    return code


def unused_vouchers(
    uow: UnitOfWork, program: Program, member_id: int, now: datetime
) -> list[VoucherView]:
    """The member's vouchers that are neither used nor expired, soonest expiry first."""
    return [_view(program, r) for r in uow.vouchers.unused(member_id, now, LIST_LIMIT)]


def voucher_of(uow: UnitOfWork, program: Program, member_id: int, text: str) -> VoucherView:
    """One of the member's own vouchers (for its QR code); VoucherNotFound otherwise."""
    found = uow.vouchers.by_code(normalize_voucher(text))
    if found is None or found.member_id != member_id:
        raise errors.VoucherNotFound(voucher=text)
    return _view(program, found)


def use_voucher(
    uow: UnitOfWork, program: Program, text: str, staff_id: int, store: str | None, now: datetime
) -> VoucherUse:
    """Mark a voucher used, once; a used or expired one is refused (an expired one's points
    go back per the program). Never raises for those: a returned refund must commit."""
    found = uow.vouchers.by_code(normalize_voucher(text))
    if found is None:
        raise errors.VoucherNotFound(voucher=text)
    member = get_member(uow, found.member_id)
    if uow.vouchers.mark_used(found.voucher, now, staff_id, store):
        return VoucherUse(status="used", view=_view(program, found), member=member)
    current = uow.vouchers.by_code(found.voucher) or found  # what the winner of a race wrote
    if current.used_at is not None:
        by = get_member(uow, current.used_by).display_name if current.used_by else None
        return VoucherUse(
            status="already_used",
            view=_view(program, current),
            member=member,
            used_at=current.used_at,
            used_store=current.used_store,
            used_by=by,
        )
    returned = return_expired_voucher(uow, program, current, now)
    return VoucherUse(
        status="expired", view=_view(program, current), member=member, returned_points=returned
    )


def return_expired_voucher(
    uow: UnitOfWork, program: Program, voucher: Redemption, now: datetime
) -> int:
    """Give an expired, unused voucher's points back as lots expiring when the lots it was
    paid from would have; 0 when the program keeps them or it happened before."""
    if program.vouchers.expired != "return" or voucher.valid_until >= now:
        return 0
    accounts, _ = locked_balances(uow, voucher.member_id)
    if not uow.vouchers.mark_returned(voucher.voucher, now):
        return 0
    meta: dict[str, object] = {"ref": voucher.voucher, "reward": voucher.reward_id}
    journal_id = uow.ledger.add_journal(
        NewJournal(
            kind=JournalKind.VOUCHER_RETURN,
            key=f"voucher-return:{voucher.voucher}",
            request_hash=request_hash(voucher=voucher.voucher),
            effective_at=now,
            member_id=voucher.member_id,
            meta=meta,
        )
    )
    after = uow.ledger.credit(accounts.available, voucher.points)
    uow.ledger.add_postings(
        journal_id,
        [
            Posting(accounts.available, voucher.points, after),
            Posting(uow.ledger.system_account(Purpose.REDEEMED), -voucher.points),
        ],
    )
    for lot, amount in uow.vouchers.drawn_lots(voucher.journal_id):
        lot_id = uow.ledger.add_lot(
            NewLot(
                member_id=voucher.member_id,
                journal_id=journal_id,
                amount=amount,
                state=LotState.AVAILABLE,
                earned_at=now,
                available_at=now,
                expires_at=lot.expires_at,
            )
        )
        if lot.expires_at <= now:  # those points had run out meanwhile: they stay expired
            expire_lot(uow, lot_id, now)
    return voucher.points


def return_expired_vouchers(
    uow: UnitOfWork, program: Program, now: datetime, limit: int
) -> SweepResult:
    """Return the points of up to `limit` vouchers that expired unused (a rerun is a no-op)."""
    if program.vouchers.expired != "return":
        return SweepResult(lots=0, points=0)
    lots, points = 0, 0
    for voucher in uow.vouchers.expired_unused(now, limit):
        returned = return_expired_voucher(uow, program, voucher, now)
        lots, points = lots + (returned > 0), points + returned
    return SweepResult(lots=lots, points=points)


def _view(program: Program, redemption: Redemption) -> VoucherView:
    reward = program.reward(redemption.reward_id)
    return VoucherView(
        voucher=redemption.voucher,
        reward_id=redemption.reward_id,
        reward_name=reward.name if reward else redemption.reward_id,
        valid_until=redemption.valid_until,
    )
