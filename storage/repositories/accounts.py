"""Accounts and postings: the conditional debit, credits, and system account ids."""

from __future__ import annotations

from collections.abc import Sequence

from core.ledger import UnbalancedJournal
from core.model import Balances, MemberAccounts, Posting, Purpose
from storage.sql import Query, Sql, insert_rows

# LEDGER.md's race-free debit; `member_id IS NOT NULL` keeps system balances untouched.
_DEBIT = Query(
    "UPDATE account SET balance = balance - :amount, version = version + 1"
    " WHERE id = :id AND member_id IS NOT NULL AND balance - :amount >= :floor"
    " RETURNING balance"
)
_DEBIT_NO_FLOOR = Query(
    "UPDATE account SET balance = balance - :amount, version = version + 1"
    " WHERE id = :id AND member_id IS NOT NULL RETURNING balance"
)
_CREDIT = Query(
    "UPDATE account SET balance = balance + :amount, version = version + 1"
    " WHERE id = :id AND member_id IS NOT NULL RETURNING balance"
)
_IS_MEMBER_ACCOUNT = Query("SELECT member_id IS NOT NULL FROM account WHERE id = :id")
_BALANCES = Query("SELECT id, balance FROM account WHERE id IN (:available, :pending, :debt)")
# SQLite has no row locks (BEGIN IMMEDIATE already holds the database's write lock); on
# PostgreSQL the rows are locked in ascending id order, as every writer touches accounts.
_BALANCES_LOCKED = Query(
    _BALANCES.sqlite,
    postgresql="SELECT id, balance FROM account WHERE id IN (:available, :pending, :debt)"
    " ORDER BY id FOR UPDATE",
)
# By member: the ids need not be looked up first (a balance summary reads only these).
_MEMBER_BALANCES = Query(
    "SELECT purpose, balance FROM account WHERE member_id = :member_id"
    " AND purpose IN ('available', 'pending', 'debt')"
)
_SYSTEM_ID = Query("SELECT id FROM account WHERE member_id IS NULL AND purpose = :purpose")
_CREATE_SYSTEM = Query(
    "INSERT INTO account (member_id, purpose, balance, version) VALUES (NULL, :purpose, 0, 0)"
    " ON CONFLICT DO NOTHING"
)
_INSERT_POSTINGS = "INSERT INTO posting (journal_id, account_id, amount, balance_after)"


class AccountStore:
    """The account half of `core.ports.LedgerRepository`."""

    __slots__ = ()
    _sql: Sql
    # Ids committed earlier (shared by every transaction of one database) ...
    _system_ids: dict[Purpose, int]
    # ... and ids this transaction created, which only become shareable once it commits.
    created_system_ids: dict[Purpose, int]

    def system_account(self, purpose: Purpose) -> int:
        """The id of the system account for `purpose`, created on first use."""
        known = self._system_ids.get(purpose) or self.created_system_ids.get(purpose)
        if known is not None:
            return known
        if purpose.is_member:
            raise ValueError(f"{purpose} is not a system purpose")
        row = self._sql.one(_SYSTEM_ID, {"purpose": purpose.value})
        if row is not None:
            self._system_ids[purpose] = row[0]
            return int(row[0])
        # Another process may create it at the same time; the unique index lets one win.
        created = self._sql.run(_CREATE_SYSTEM, {"purpose": purpose.value})
        row = self._sql.one(_SYSTEM_ID, {"purpose": purpose.value})
        assert row is not None  # inserted by us or by the concurrent winner
        (self.created_system_ids if created else self._system_ids)[purpose] = row[0]
        return int(row[0])

    def debit(self, account_id: int, amount: int, floor: int | None = 0) -> int | None:
        """Subtract from a member account; the new balance, or None if it would cross `floor`."""
        _require_positive(amount)
        if floor is None:
            row = self._sql.one(_DEBIT_NO_FLOOR, {"id": account_id, "amount": amount})
        else:
            row = self._sql.one(_DEBIT, {"id": account_id, "amount": amount, "floor": floor})
        if row is not None:
            return int(row[0])
        self._require_member_account(account_id)
        return None

    def credit(self, account_id: int, amount: int) -> int:
        """Add to a member account; the new balance."""
        _require_positive(amount)
        row = self._sql.one(_CREDIT, {"id": account_id, "amount": amount})
        if row is None:
            raise ValueError(f"account {account_id} is not a member account")
        return int(row[0])

    def add_postings(self, journal_id: int, postings: Sequence[Posting]) -> None:
        """Append the journal's postings in one statement; they must sum to zero."""
        if not postings:
            return
        if (total := sum(p.amount for p in postings)) != 0:
            raise UnbalancedJournal(f"journal {journal_id}: postings sum to {total}, not zero")
        params: list[object] = []
        for p in postings:
            params += (journal_id, p.account_id, p.amount, p.balance_after)
        sql = insert_rows(self._sql.flavor, _INSERT_POSTINGS, len(postings), 4)
        self._sql.run_text(sql, params)

    def balances(self, accounts: MemberAccounts, lock: bool = False) -> Balances:
        """The cached balances of a member's accounts; `lock` holds them until commit."""
        ids = {"available": accounts.available, "pending": accounts.pending, "debt": accounts.debt}
        found: dict[int, int] = dict(self._sql.all(_BALANCES_LOCKED if lock else _BALANCES, ids))
        return Balances(
            available=int(found[accounts.available]),
            pending=int(found[accounts.pending]),
            debt=int(found[accounts.debt]),
        )

    def member_balances(self, member_id: int) -> Balances:
        """The cached balances of a member's accounts, found by member (one statement)."""
        found: dict[str, int] = dict(self._sql.all(_MEMBER_BALANCES, {"member_id": member_id}))
        if len(found) != 3:
            raise LookupError(f"member {member_id} has no accounts")
        return Balances(
            available=int(found["available"]),
            pending=int(found["pending"]),
            debt=int(found["debt"]),
        )

    def _require_member_account(self, account_id: int) -> None:
        row = self._sql.one(_IS_MEMBER_ACCOUNT, {"id": account_id})
        if row is None or not row[0]:
            raise ValueError(f"account {account_id} is not a member account")


def _require_positive(amount: int) -> None:
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
