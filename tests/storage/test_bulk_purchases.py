"""Imported purchases written a batch at a time leave exactly the rows that recording them one
at a time leaves: the same journals, postings and balances after, lots, purchases and daily
totals, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.settings import EXAMPLE_PROGRAM
from core import errors
from core.commands import RedeemReward, RefundPurchase
from core.customers import ImportedCustomer
from core.loyalty import Loyalty
from core.pos import ExternalPurchase
from core.program import load_program
from storage.database import SqlDatabase
from tests.storage.ledger_checks import LedgerChecker, ManualClock

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def history(prefix: str, customer: str) -> list[ExternalPurchase]:
    """Purchases over two years: expired on arrival, past their hold, inside it, now."""
    moments = [
        NOW - timedelta(days=d, hours=h)
        for d, h in ((700, 1), (400, 3), (390, 0), (200, 5), (30, 2), (20, 1), (10, 0), (3, 4))
    ]
    purchases = [
        ExternalPurchase(member_ref=f"customer:{customer}", receipt=f"{prefix}-{n}",
                         amount_minor=140_00 + n * 7_13, occurred_at=at, store="main-st",
                         channel="store", quiet=True)
        for n, at in enumerate(moments)
    ]  # fmt: skip
    purchases.append(ExternalPurchase(member_ref=f"customer:{customer}", receipt=f"{prefix}-now",
                                      amount_minor=12_40, quiet=True))  # fmt: skip
    purchases.append(ExternalPurchase(member_ref=f"customer:{customer}", receipt=f"{prefix}-far",
                                      amount_minor=9_99, store="partner", quiet=True))  # fmt: skip
    return purchases


def story(db: SqlDatabase, customer: str) -> dict[str, Any]:
    """Everything the ledger holds for one customer, without ids or receipt prefixes."""
    with db.engine.connect() as conn:
        (member,) = conn.exec_driver_sql(
            "SELECT member_id FROM identity WHERE platform = 'customer' AND external_id = ?"
            if db.engine.dialect.name == "sqlite" else
            "SELECT member_id FROM identity WHERE platform = 'customer' AND external_id = %s",
            (customer,),
        ).one()  # fmt: skip
        p = "?" if db.engine.dialect.name == "sqlite" else "%s"

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.exec_driver_sql(sql.replace("?", p), (member,)).all()]

        return {
            "postings": rows(
                "SELECT j.kind, j.effective_at, a.purpose, po.amount, po.balance_after, j.meta"
                " FROM posting po JOIN account a ON a.id = po.account_id"
                " JOIN journal j ON j.id = po.journal_id WHERE a.member_id = ? ORDER BY po.id"
            ),
            "lots": rows(
                "SELECT amount, remaining, state, earned_at, available_at, expires_at FROM lot"
                " WHERE member_id = ? ORDER BY earned_at, amount"
            ),
            "purchases": rows(
                "SELECT amount_minor, points, lot_id IS NULL, occurred_at, store, channel"
                " FROM purchase WHERE member_id = ? ORDER BY occurred_at"
            ),
            "days": rows(
                "SELECT day, spend_minor, points FROM purchase_day WHERE member_id = ? ORDER BY day"
            ),
            "balances": rows(
                "SELECT purpose, balance, version FROM account WHERE member_id = ? ORDER BY id"
            ),
        }


def _without_receipts(value: Any) -> Any:
    """Journal metas name receipts (A-1 / B-1): compare them without the prefix."""
    text = str(value)
    return text.replace('"A-', '"X-').replace('"B-', '"X-')


def test_batch_and_one_at_a_time_write_the_same_rows(db: SqlDatabase) -> None:
    clock = ManualClock(NOW - timedelta(days=800))
    loyalty = Loyalty(db, load_program(EXAMPLE_PROGRAM), clock)
    loyalty.import_customers([ImportedCustomer(customer_id=c, name=c) for c in ("ann", "bob")])
    for customer, prefix in (("ann", "A"), ("bob", "B")):  # a debt the imports pay off first
        old = ExternalPurchase(
            member_ref=f"customer:{customer}", receipt=f"{prefix}-old", amount_minor=300_00
        )
        member_id = loyalty.record_external_purchase(old).earn.member.id
        clock.advance(timedelta(days=20))
        loyalty.release_due()
        loyalty.redeem(
            RedeemReward(member_id=member_id, reward_id="cookie", nonce=f"{prefix}-n")
        )  # 150 of 300 points
        loyalty.refund(RefundPurchase(receipt=f"{prefix}-old", refund_id=f"{prefix}-f"))  # 150 owed
        clock.advance(-timedelta(days=20))
    clock.at = NOW
    batch = loyalty.record_external_purchases(history("A", "ann"))
    assert not any(r.earn.duplicate for r in batch)
    one_by_one = [loyalty.record_external_purchase(p) for p in history("B", "bob")]
    assert [(r.earn.points, r.earn.expired, r.expires_at) for r in batch] == [
        (r.earn.points, r.earn.expired, r.expires_at) for r in one_by_one
    ]
    ann, bob = story(db, "ann"), story(db, "bob")
    assert {k: _without_receipts(v) for k, v in ann.items()} == {
        k: _without_receipts(v) for k, v in bob.items()
    }
    assert any(kind == "expire" for kind, *_ in ann["postings"])  # old purchases expired
    assert any(row[2] == "debt" and row[3] > 0 for row in ann["postings"])  # the debt paid
    LedgerChecker(db.engine).check()
    # The same batch again: every purchase is a replay, through the one-at-a-time path.
    again = loyalty.record_external_purchases(history("A", "ann"))
    assert all(r.earn.duplicate for r in again)
    assert [r.earn.points for r in again] == [r.earn.points for r in batch]


def test_a_batch_with_an_unknown_member_or_a_future_date_is_refused_whole(db: SqlDatabase) -> None:
    loyalty = Loyalty(db, load_program(EXAMPLE_PROGRAM), ManualClock(NOW))
    loyalty.import_customers([ImportedCustomer(customer_id="ann", name="Ann")])
    good = ExternalPurchase(member_ref="customer:ann", receipt="R-1", amount_minor=5_00, quiet=True)
    unknown = ExternalPurchase(member_ref="customer:zed", receipt="R-2", amount_minor=5_00,
                               quiet=True)  # fmt: skip
    future = ExternalPurchase(member_ref="customer:ann", receipt="R-3", amount_minor=5_00,
                              occurred_at=NOW + timedelta(days=1), quiet=True)  # fmt: skip
    before = LedgerChecker(db.engine).check().counts
    for bad in (unknown, future):
        try:
            loyalty.record_external_purchases([good, bad])
        except (errors.MemberNotFound, errors.PurchaseInFuture):
            pass
        else:
            raise AssertionError("the batch was accepted")
    assert LedgerChecker(db.engine).check().counts == before
