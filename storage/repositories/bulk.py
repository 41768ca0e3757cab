"""Importing many purchases at once: the rows `record_purchase` writes one by one, written a
batch at a time (multi-row INSERTs, one UPDATE for every balance), so an import costs a few
statements per batch instead of a dozen round trips per purchase."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from core.codes import normalize_code
from core.model import (
    Balances,
    LotDraw,
    Member,
    MemberAccounts,
    NewJournal,
    NewLot,
    Posting,
    Purchase,
    RecordedJournal,
    Role,
)
from storage.sql import Row, Sql, in_list, insert_rows, select_rows, unnest_rows
from storage.types import require_aware

_MEMBER = (
    "m.id, m.code, m.display_name, m.role, m.language, m.created_at, m.referred_by, m.notifications"
)
_BY_CUSTOMER = (
    "SELECT i.external_id, m.id, m.code, m.display_name, m.role, m.language, m.created_at,"
    " m.referred_by FROM identity i JOIN member m ON m.id = i.member_id"
    " WHERE i.platform = 'customer' AND i.external_id IN"
)
_BY_CODE = (
    "SELECT c.code_key, m.id, m.code, m.display_name, m.role, m.language, m.created_at,"
    " m.referred_by FROM member c"
    " JOIN member m ON m.id = COALESCE(c.merged_into, c.id) WHERE c.code_key IN"
)
# Sums of daily totals per (member, window): the windows come in as a derived table `w`.
_SUMS_HEAD = "SELECT v.n, COALESCE(SUM(d.spend_minor), 0), COALESCE(SUM(d.points), 0) FROM "
_SUMS_TAIL = (
    " LEFT JOIN purchase_day d ON d.member_id = v.m AND d.day >= v.s AND d.day <= v.u GROUP BY v.n"
)
_BALANCES_HEAD = "UPDATE account SET balance = v.b, version = account.version + v.n FROM "
_BALANCES_TAIL = " WHERE account.id = v.i AND account.member_id IS NOT NULL"
_JOURNALS = (
    "SELECT id, kind, key, request_hash, effective_at, member_id, meta FROM journal WHERE key IN"
)
_ACCOUNTS = "SELECT member_id, purpose, id, balance FROM account WHERE member_id IN"
_INSERT_JOURNALS = (
    "INSERT INTO journal (kind, key, request_hash, effective_at, created_at, member_id,"
    " actor_id, reverses_id, meta)"
)
_INSERT_LOTS = (
    "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at,"
    " available_at, expires_at)"
)
_INSERT_POSTINGS = "INSERT INTO posting (journal_id, account_id, amount, balance_after)"
_INSERT_PURCHASES = (
    "INSERT INTO purchase (receipt, member_id, amount_minor, points, lot_id, journal_id,"
    " occurred_at, refunded_minor, refunded_points, store, channel)"
)
_DAY_TOTALS = (
    " ON CONFLICT (member_id, day) DO UPDATE SET"
    " spend_minor = purchase_day.spend_minor + excluded.spend_minor,"
    " points = purchase_day.points + excluded.points"
)
_INSERT_MOVEMENTS = "INSERT INTO lot_movement (journal_id, lot_id, amount, kind)"
_INSERT_DAYS = "INSERT INTO purchase_day (member_id, day, spend_minor, points)"
_EMPTY_LOTS = "UPDATE lot SET remaining = 0 WHERE id IN"
_BATCH = 500  # rows per statement, well inside SQLite's parameter limit


class SqlBulkPurchaseRepository:
    """`core.ports.BulkPurchaseRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def members_by_customer(self, customer_ids: Sequence[str]) -> dict[str, Member]:
        """Members by customer id."""
        return {row[0]: self._member(row[1:]) for row in self._in(_BY_CUSTOMER, customer_ids)}

    def members_by_code(self, codes: Sequence[str]) -> dict[str, Member]:
        """Members by normalised code."""
        keys = sorted({normalize_code(code) for code in codes})
        return {row[0]: self._member(row[1:]) for row in self._in(_BY_CODE, keys)}

    def journals(self, keys: Sequence[str]) -> dict[str, RecordedJournal]:
        """Journals recorded under these keys."""
        read_time = self._sql.flavor.read_time
        return {
            row[2]: RecordedJournal(
                id=row[0], kind=row[1], key=row[2], request_hash=row[3],
                effective_at=read_time(row[4]), member_id=row[5], meta=json.loads(row[6]),
            )
            for row in self._in(_JOURNALS, keys)
        }  # fmt: skip

    def lock_accounts(
        self, member_ids: Sequence[int]
    ) -> dict[int, tuple[MemberAccounts, Balances]]:
        """Accounts and balances, locked in ascending id order (PostgreSQL FOR UPDATE)."""
        ids: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
        suffix = " AND purpose IN ('available', 'pending', 'debt') ORDER BY id"
        if self._sql.flavor.name == "postgresql":
            suffix += " FOR UPDATE"
        for member_id, purpose, account_id, balance in self._in(_ACCOUNTS, member_ids, suffix):
            ids[member_id][purpose] = (int(account_id), int(balance))
        return {
            member_id: (
                MemberAccounts(available=a["available"][0], pending=a["pending"][0],
                               debt=a["debt"][0]),
                Balances(available=a["available"][1], pending=a["pending"][1],
                         debt=a["debt"][1]),
            )
            for member_id, a in ids.items()
        }  # fmt: skip

    def qualifying_sums(
        self, windows: Sequence[tuple[int, datetime, datetime]]
    ) -> list[tuple[int, int]]:
        """Spend and points of each (member, since, until) window's daily totals."""
        rows = [(n, member_id, self._day(since), self._day(until))
                for n, (member_id, since, until) in enumerate(windows)]  # fmt: skip
        columns = (("n", "int"), ("m", "int"), ("s", "date"), ("u", "date"))
        found = {int(r[0]): (int(r[1]), int(r[2])) for r in
                 self._table(_SUMS_HEAD, columns, rows, _SUMS_TAIL)}  # fmt: skip
        return [found[n] for n in range(len(windows))]

    def add_journals(self, journals: Sequence[NewJournal]) -> dict[str, int]:
        """Insert journals; their ids by key."""
        bind_time = self._sql.flavor.bind_time
        created = bind_time(datetime.now(UTC))
        rows = [
            (j.kind.value, j.key, j.request_hash, bind_time(j.effective_at), created, j.member_id,
             j.actor_id, j.reverses_id, json.dumps(j.meta, separators=(",", ":"),
                                                   ensure_ascii=False))
            for j in journals
        ]  # fmt: skip
        types = ("text", "text", "text", "timestamptz", "timestamptz", "int", "int", "int", "text")
        returned = self._rows(_INSERT_JOURNALS, types, rows, " RETURNING id, key")
        return {key: int(i) for i, key in returned}

    def add_lots(self, lots: Sequence[NewLot]) -> dict[int, int]:
        """Insert lots; their ids by journal id."""
        bind_time = self._sql.flavor.bind_time
        rows = [
            (lot.member_id, lot.journal_id, lot.amount, lot.amount, lot.state.value,
             bind_time(lot.earned_at), bind_time(lot.available_at), bind_time(lot.expires_at))
            for lot in lots
        ]  # fmt: skip
        types = ("int", "int", "bigint", "bigint", "text", "timestamptz", "timestamptz",
                 "timestamptz")  # fmt: skip
        returned = self._rows(_INSERT_LOTS, types, rows, " RETURNING id, journal_id")
        return {int(journal): int(i) for i, journal in returned}

    def add_postings(self, postings: Sequence[tuple[int, Posting]]) -> None:
        """Insert postings in this order."""
        rows = [(journal_id, p.account_id, p.amount, p.balance_after) for journal_id, p in postings]
        self._rows(_INSERT_POSTINGS, ("int", "int", "bigint", "bigint"), rows)

    def set_balances(self, balances: Sequence[tuple[int, int, int]]) -> None:
        """New cached balances of member accounts, each version bumped per posting."""
        self._table(_BALANCES_HEAD, (("i", "int"), ("b", "bigint"), ("n", "int")), balances,
                    _BALANCES_TAIL)  # fmt: skip

    def add_purchases(self, purchases: Sequence[Purchase]) -> None:
        """Insert purchases, then add them to the daily totals (one row per member and day)."""
        bind_time = self._sql.flavor.bind_time
        days: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
        rows = []
        for p in purchases:
            rows.append((p.receipt, p.member_id, p.amount_minor, p.points, p.lot_id, p.journal_id,
                         bind_time(p.occurred_at), p.refunded_minor, p.refunded_points, p.store,
                         p.channel))  # fmt: skip
            total = days[p.member_id, require_aware(p.occurred_at).date()]
            total[0] += p.amount_minor - p.refunded_minor
            total[1] += p.points - p.refunded_points
        types = ("text", "int", "bigint", "bigint", "int", "int", "timestamptz", "bigint",
                 "bigint", "text", "text")  # fmt: skip
        self._rows(_INSERT_PURCHASES, types, rows)
        totals = [(m, self._bind_day(day), spend, points)
                  for (m, day), (spend, points) in days.items()]  # fmt: skip
        self._rows(_INSERT_DAYS, ("int", "date", "bigint", "bigint"), totals, _DAY_TOTALS)

    def empty_lots(self, draws: Sequence[tuple[int, LotDraw]], kind: str) -> None:
        """Take everything left in these lots, recording which journal took it."""
        self._in(_EMPTY_LOTS, [d.lot_id for _, d in draws])
        rows = [(journal_id, d.lot_id, d.amount, kind) for journal_id, d in draws]
        self._rows(_INSERT_MOVEMENTS, ("int", "int", "bigint", "text"), rows)

    def _rows(
        self, head: str, types: tuple[str, ...], rows: Sequence[tuple[object, ...]], tail: str = ""
    ) -> list[Row]:
        """`head` (an INSERT up to its columns) fed with many rows; RETURNING rows, if any."""
        if not rows:
            return []
        if self._sql.flavor.name == "postgresql":
            columns = [list(column) for column in zip(*rows, strict=True)]
            return self._run(head + " " + unnest_rows(types) + tail, columns, tail)
        out: list[Row] = []
        for start in range(0, len(rows), _BATCH):
            chunk = rows[start : start + _BATCH]
            sql = insert_rows(self._sql.flavor, head, len(chunk), len(types)) + tail
            out += self._run(sql, [value for row in chunk for value in row], tail)
        return out

    def _table(
        self,
        head: str,
        columns: tuple[tuple[str, str], ...],
        rows: Sequence[tuple[object, ...]],
        tail: str,
    ) -> list[Row]:
        """`head` + the rows as a derived table + `tail` (a SELECT or an UPDATE ... FROM)."""
        names = tuple(name for name, _ in columns)
        if self._sql.flavor.name == "postgresql":
            table = f"({unnest_rows(tuple(t for _, t in columns))}) AS v({', '.join(names)})"
            return self._run(head + table + tail, [list(c) for c in zip(*rows, strict=True)], tail)
        out: list[Row] = []
        for start in range(0, len(rows), _BATCH):
            chunk = rows[start : start + _BATCH]
            table = select_rows(self._sql.flavor, names, len(chunk)) + " v"
            out += self._run(head + table + tail, [value for row in chunk for value in row], tail)
        return out

    def _run(self, sql: str, params: Sequence[object], tail: str) -> list[Row]:
        if "RETURNING" in tail or sql.startswith("SELECT"):  # a query: its rows
            return self._sql.all_text(sql, params)
        self._sql.run_text(sql, params)
        return []

    def _in(self, head: str, values: Sequence[object], tail: str = "") -> list[Row]:
        """`head` (ending in `... IN`) for every value, then `tail`; on PostgreSQL the values
        travel as one array (a short, constant text), elsewhere as placeholder lists."""
        unique = list(dict.fromkeys(values))
        if self._sql.flavor.name == "postgresql":
            return self._run(head.removesuffix(" IN") + " = ANY(%b)" + tail, [unique], tail)
        rows: list[Row] = []
        for start in range(0, len(unique), _BATCH):
            chunk = unique[start : start + _BATCH]
            rows += self._run(in_list(self._sql.flavor, head, len(chunk)) + tail, chunk, tail)
        return rows

    def _member(self, row: Row) -> Member:
        return Member(
            id=row[0], code=row[1], display_name=row[2], role=Role(row[3]), language=row[4],
            created_at=self._sql.flavor.read_time(row[5]), referred_by=row[6],
        )  # fmt: skip

    def _day(self, moment: datetime) -> date | str:
        return self._bind_day(require_aware(moment).date())

    def _bind_day(self, day: date) -> date | str:
        # SQLite keeps dates as ISO text (as SQLAlchemy's Date does); psycopg binds a date.
        return day.isoformat() if self._sql.flavor.name == "sqlite" else day
