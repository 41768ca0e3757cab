"""Taking points back from a member: refunds of purchases and revoked recognition gifts.

The points come from their source lot first, then from what of that lot already expired (the
member lost those, so the expiry is undone instead of taking them twice), then from other
available lots first-expiring-first; whatever was already spent becomes a debt that later
earnings pay off, or is written off, as the program says.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.ledger import LedgerInconsistent, plan_fefo_draw
from core.model import Balances, LotDraw, LotState, MemberAccounts, Posting, Purpose
from core.ports import UnitOfWork

# Draws from the source lot itself are told apart from claw-backs out of other lots.
SOURCE_LOT_DRAW = "reversal"
OTHER_LOT_DRAW = "clawback"


@dataclass(frozen=True, kw_only=True)
class ClawBack:
    """Where `points` taken back from a member come from."""

    points: int
    source_draws: list[LotDraw]
    other_draws: list[LotDraw]
    from_pending: int
    from_available: int
    expired: int
    shortfall: int


def plan_claw_back(
    uow: UnitOfWork,
    member_id: int,
    source_lot: int | None,
    points: int,
    balances: Balances,
    taken_back_before: int = 0,
) -> ClawBack:
    """Plan taking `points` back; the member's accounts must be locked already.

    `taken_back_before` is what earlier take-backs of the same source removed in total (a
    purchase refunded in parts); they used the same order, so they account for the expired
    points first.
    """
    from_pending = from_available = expired = 0
    source: list[LotDraw] = []
    if points and source_lot is not None:
        lot = uow.ledger.lot(source_lot)
        take = min(points, lot.remaining)
        if take:
            source.append(LotDraw(lot.id, take))
            if lot.state is LotState.PENDING:
                from_pending = take
            else:
                from_available = take
        moved = uow.ledger.lot_movements(lot.id)
        lost = moved.get("expire", 0)
        accounted = max(min(lost, taken_back_before - moved.get(SOURCE_LOT_DRAW, 0)), 0)
        expired = min(points - take, lost - accounted)
    others: list[LotDraw] = []
    extra = min(points - from_pending - from_available - expired,
                balances.available - from_available)  # fmt: skip
    if extra > 0:
        others = plan_fefo_draw(uow, member_id, extra, skip_lot=source_lot)
        from_available += extra
    shortfall = points - from_pending - from_available - expired
    return ClawBack(
        points=points,
        source_draws=source,
        other_draws=others,
        from_pending=from_pending,
        from_available=from_available,
        expired=expired,
        shortfall=shortfall,
    )


def apply_claw_back(
    uow: UnitOfWork,
    journal_id: int,
    accounts: MemberAccounts,
    plan: ClawBack,
    issued_from: Purpose,
    write_off: bool,
) -> None:
    """Draw the lots and post the journal: the points go back to `issued_from`."""
    uow.ledger.draw(journal_id, plan.source_draws, SOURCE_LOT_DRAW)
    uow.ledger.draw(journal_id, plan.other_draws, OTHER_LOT_DRAW)
    postings = [Posting(uow.ledger.system_account(issued_from), plan.points)]
    # Ascending account ids (available < pending < debt), like every other journal.
    for account, amount in ((accounts.available, plan.from_available),
                            (accounts.pending, plan.from_pending)):  # fmt: skip
        if amount:
            postings.append(Posting(account, -amount, _debit(uow, account, amount, 0)))
    if plan.expired:  # the member already lost these: undo the expiry, take nothing again
        postings.append(Posting(uow.ledger.system_account(Purpose.EXPIRED), -plan.expired))
    if plan.shortfall and write_off:
        postings.append(Posting(uow.ledger.system_account(Purpose.ADJUSTMENT), -plan.shortfall))
    elif plan.shortfall:  # already spent: a debt that later earnings pay off first
        after = _debit(uow, accounts.debt, plan.shortfall, None)
        postings.append(Posting(accounts.debt, -plan.shortfall, after))
    uow.ledger.add_postings(journal_id, postings)


def _debit(uow: UnitOfWork, account: int, amount: int, floor: int | None) -> int:
    after = uow.ledger.debit(account, amount, floor)
    if after is None:  # the plan was made from balances locked in this transaction
        raise LedgerInconsistent(f"account {account}: balance moved under a lock")
    return after
