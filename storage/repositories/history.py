"""A member's statement: postings on their own accounts, newest first."""

from __future__ import annotations

import json

from core.model import HistoryRow, JournalKind, Purpose
from storage.sql import Query, Sql

# Driven from the member's few accounts through ix_posting_account_id, then sorted: a planner
# could instead walk every posting backwards in id order to skip the sort, which grows with
# the whole ledger. SQLite keeps the join order written with CROSS JOIN; PostgreSQL gets a
# LATERAL that reads at most offset + limit postings per account.
# A redemption's voucher comes along through its unique journal id (uq_redemption_journal).
_HISTORY = Query(
    "SELECT p.journal_id, j.kind, j.effective_at, p.amount, a.purpose, j.meta, r.voucher"
    " FROM account a CROSS JOIN posting p JOIN journal j ON j.id = p.journal_id"
    " LEFT JOIN redemption r ON r.journal_id = j.id"
    " WHERE a.member_id = :member_id AND p.account_id = a.id"
    " ORDER BY p.id DESC LIMIT :limit OFFSET :offset",
    postgresql="SELECT p.journal_id, j.kind, j.effective_at, p.amount, a.purpose, j.meta,"
    " r.voucher FROM account a CROSS JOIN LATERAL (SELECT id, journal_id, amount FROM posting"
    " WHERE account_id = a.id ORDER BY id DESC LIMIT :offset + :limit) p"
    " JOIN journal j ON j.id = p.journal_id LEFT JOIN redemption r ON r.journal_id = j.id"
    " WHERE a.member_id = :member_id ORDER BY p.id DESC LIMIT :limit OFFSET :offset",
)


class HistoryStore:
    """The statement part of `core.ports.LedgerRepository`."""

    __slots__ = ()
    _sql: Sql

    def history(self, member_id: int, offset: int, limit: int) -> list[HistoryRow]:
        """One page of the member's movements, newest first, with the journal's reference."""
        params = {"member_id": member_id, "offset": offset, "limit": limit}
        read_time = self._sql.flavor.read_time
        rows = self._sql.all(_HISTORY, params)
        return [
            HistoryRow(
                journal_id=row[0],
                kind=JournalKind(row[1]),
                at=read_time(row[2]),
                amount=int(row[3]),
                purpose=Purpose(row[4]),
                reference=_reference(row[5]),
                voucher=row[6],
            )
            for row in rows
        ]


def _reference(meta: str) -> str | None:
    ref = json.loads(meta).get("ref")
    return None if ref is None else str(ref)
