"""Ledger invariants (docs/LEDGER.md) checked by reading the tables directly, plus test helpers.

Shared by the Hypothesis state machine and the service tests. Everything here reads the
database through a SQLAlchemy engine, never through the repositories under test.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from core.loyalty import Loyalty
from core.model import Identity
from core.program import Program, parse_program
from storage.database import SqlDatabase
from storage.sql import flavor_for

Row = tuple[Any, ...]

# Ledger tables in an order that deletes children before their parents.
LEDGER_TABLES = ("lot_movement", "posting", "redemption", "purchase", "lot", "journal", "account")
_CLEAN_ORDER = (
    "gift",
    "allowance",
    "lot_movement",
    "posting",
    "redemption",
    "purchase_day",
    "purchase",
    "outbox",
    "lot",
    "journal",
    "identity",
    "inbound_delivery",
    "reward_stock",
)
_SNAPSHOT_SQL = {
    "journal": "SELECT id, kind, key, request_hash, effective_at, member_id, actor_id,"
    " reverses_id, meta FROM journal ORDER BY id",
    "posting": "SELECT id, journal_id, account_id, amount, balance_after FROM posting ORDER BY id",
    "lot": "SELECT id, member_id, journal_id, amount, remaining, state, earned_at, available_at,"
    " expires_at FROM lot ORDER BY id",
    "lot_movement": "SELECT id, journal_id, lot_id, amount, kind FROM lot_movement ORDER BY id",
    "account": "SELECT id, member_id, purpose, balance, version FROM account ORDER BY id",
    "purchase": "SELECT receipt, member_id, amount_minor, points, lot_id, journal_id,"
    " occurred_at, refunded_minor, refunded_points FROM purchase ORDER BY receipt",
    "redemption": "SELECT id, member_id, reward_id, points, voucher, journal_id FROM redemption"
    " ORDER BY id",
}
MEMBER_PURPOSES = ("available", "pending", "debt")

T0 = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)  # the program zone's DST change is 9 days later


# -- programs, clocks, members -------------------------------------------------------------------

PROGRAM_TEMPLATE = """
[program]
name = "Test Shop"
currency = "EUR"
point_value = "0.01"
timezone = "Europe/Berlin"

[earning]
points_per_unit = "1"
max_purchase = "1000"

[[tiers]]
name = "Bronze"
threshold = "0"

[[tiers]]
name = "Gold"
threshold = "300"
multiplier = "1.5"

[[rewards]]
id = "coffee"
name = "Coffee"
price = {coffee_price}

[[rewards]]
id = "cake"
name = "Cake"
price = 75
per_member_limit = 3

[expiry]
lot_lifetime_days = 10

[returns]
hold_days = {hold_days}

[refunds]
when_spent = "{policy}"

[awards]
max_points = 200
actions = {{ signup = 10 }}
"""


def make_program(
    policy: str = "debt", hold_days: int = 3, coffee_price: int = 30, signup: bool = True
) -> Program:
    """A small program: two tiers, two rewards, a return hold and 10-day lots."""
    text = PROGRAM_TEMPLATE.format(policy=policy, hold_days=hold_days, coffee_price=coffee_price)
    if not signup:
        text = text.replace("actions = { signup = 10 }", "")
    return parse_program(text, "test-program")


@dataclass
class ManualClock:
    """A clock the test moves by hand."""

    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def person(n: int | str) -> Identity:
    """A chat identity for test person `n`."""
    return Identity(
        platform="telegram", external_id=f"user-{n}", display_name=f"User {n}", username=f"user{n}"
    )


# -- fresh databases -----------------------------------------------------------------------------


class DatabasePool:
    """Hands out empty, migrated databases quickly: a copied SQLite file, a cleaned PG schema."""

    def __init__(self, engine: str, directory: Path, url: str | None = None) -> None:
        from storage.migrate import upgrade  # not at the top: worker processes skip Alembic

        self.engine_name = engine
        self._directory = directory
        self._url = url
        self._shared: SqlDatabase | None = None
        if engine == "sqlite":
            self._template = directory / "template.db"
            if not self._template.exists():
                upgrade(f"sqlite:///{self._template}")
        else:
            assert url is not None
            upgrade(url)
            self._shared = SqlDatabase.from_url(url)

    @contextmanager
    def database(self) -> Iterator[SqlDatabase]:
        """A `SqlDatabase` over an empty migrated database (system accounts only)."""
        if self._shared is None:
            path = self._directory / f"db-{uuid.uuid4().hex[:12]}.db"
            shutil.copyfile(self._template, path)
            db = SqlDatabase.from_url(f"sqlite:///{path}")
            try:
                yield db
            finally:
                db.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        clean(self._shared.engine)
        yield self._shared

    def url(self) -> str:
        """A URL to an empty database, for other processes."""
        if self._url is not None:
            return self._url
        path = self._directory / f"db-{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        if self._shared is not None:
            self._shared.dispose()


@contextmanager
def database_pool(engine: str, directory: Path) -> Iterator[DatabasePool]:
    """A pool on `engine`; PostgreSQL gets its own schema (dropped afterwards)."""
    from tests.storage.fixtures import postgres_schema, require_postgres

    if engine == "sqlite":
        pool = DatabasePool("sqlite", directory)
        try:
            yield pool
        finally:
            pool.close()
        return
    with postgres_schema(require_postgres()) as url:
        pool = DatabasePool("postgresql", directory, url)
        try:
            yield pool
        finally:
            pool.close()


def clean(engine: Engine) -> None:
    """Delete every row except the system accounts (which migrations create)."""
    with engine.begin() as conn:
        for table in _CLEAN_ORDER:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM account WHERE member_id IS NOT NULL")
        conn.exec_driver_sql("DELETE FROM member")


def new_loyalty(db: SqlDatabase, program: Program, clock: ManualClock | None = None) -> Loyalty:
    return Loyalty(db, program, clock or ManualClock())


# -- reading the ledger --------------------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, list[Row]]:
    """Every row of the ledger tables, in primary-key order."""
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.exec_driver_sql(sql).all()]
            for table, sql in _SNAPSHOT_SQL.items()
        }


@dataclass(frozen=True)
class LotRow:
    id: int
    member_id: int
    journal_id: int
    amount: int
    remaining: int
    state: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Facts:
    """What the checks read, for comparing with a model."""

    balances: dict[int, tuple[int, int, int]]  # member id -> (available, pending, debt)
    system: dict[str, int]  # system purpose -> sum of its postings
    lots: list[LotRow]
    counts: dict[str, int]

    @property
    def outstanding(self) -> int:
        return sum(sum(b) for b in self.balances.values())


@dataclass
class LedgerChecker:
    """Checks every invariant of docs/LEDGER.md; remembers rows to prove append-only-ness."""

    engine: Engine
    seen_journals: dict[int, Row] = field(default_factory=dict)
    seen_postings: dict[int, Row] = field(default_factory=dict)
    seen_movements: dict[int, Row] = field(default_factory=dict)
    seen_redemptions: dict[int, Row] = field(default_factory=dict)

    def check(self, now: datetime | None = None) -> Facts:
        """Run every check against the current database; AssertionError names the broken one."""
        data = snapshot(self.engine)
        read_time = flavor_for(self.engine.dialect.name).read_time
        journals = {r[0]: r for r in data["journal"]}
        kinds = {jid: r[1] for jid, r in journals.items()}
        accounts = {r[0]: r for r in data["account"]}  # id, member_id, purpose, balance, version
        postings = data["posting"]
        movements = data["lot_movement"]
        lots = [
            LotRow(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5], *(read_time(t) for t in r[6:9]))
            for r in data["lot"]
        ]

        self._append_only("journal", self.seen_journals, data["journal"])
        self._append_only("posting", self.seen_postings, postings)
        self._append_only("lot_movement", self.seen_movements, movements)
        self._append_only("redemption", self.seen_redemptions, data["redemption"])

        # 1. Every journal sums to zero, and so does the whole ledger.
        per_journal: dict[int, int] = defaultdict(int)
        for _, journal_id, _, amount, _ in postings:
            assert amount != 0, f"zero posting in journal {journal_id}"
            per_journal[journal_id] += int(amount)
        unbalanced = {j: s for j, s in per_journal.items() if s != 0}
        assert not unbalanced, f"journals that do not sum to zero: {unbalanced}"
        assert sum(int(p[3]) for p in postings) == 0
        assert set(per_journal) <= set(journals), "postings of unknown journals"

        # 2. Cached balances equal their postings; balance_after chains are contiguous.
        by_account: dict[int, list[Row]] = defaultdict(list)
        for p in postings:
            by_account[p[2]].append(p)
        system: dict[str, int] = defaultdict(int)
        balances: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEMBER_PURPOSES, 0))
        for account_id, (_, member_id, purpose, cached, version) in accounts.items():
            rows = by_account.get(account_id, [])
            total = sum(int(p[3]) for p in rows)
            if member_id is None:
                system[purpose] = total
                assert int(cached) == 0, f"system account {purpose} caches a balance ({cached})"
                assert all(p[4] is None for p in rows), f"system account {purpose}: balance_after"
                continue
            assert int(cached) == total, (
                f"account {account_id} ({purpose} of member {member_id}): cached {cached},"
                f" postings sum to {total}"
            )
            assert int(version) >= len(rows), f"account {account_id}: version below its postings"
            running = 0
            for posting_id, journal_id, _, amount, after in rows:
                running += int(amount)
                assert after is not None and int(after) == running, (
                    f"account {account_id}: posting {posting_id} has balance_after {after},"
                    f" the chain gives {running}"
                )
                # 3. No member account below its floor except debt, through a refund journal.
                if purpose in ("available", "pending"):
                    assert running >= 0, f"account {account_id} ({purpose}) went to {running}"
                if purpose == "debt":
                    assert running <= 0, f"debt account {account_id} is positive ({running})"
                    if int(amount) < 0:
                        # A merge moves a debt from one membership to the other; a bonus
                        # taken back may leave one, as a refund does.
                        assert kinds[journal_id] in ("refund", "revoke", "merge", "clawback"), (
                            f"debt grew in a {kinds[journal_id]} journal {journal_id}"
                        )
            balances[member_id][purpose] = total

        # 6. 0 <= remaining <= amount; open lots add up to the available and pending balances.
        lot_sums: dict[tuple[int, str], int] = defaultdict(int)
        for lot in lots:
            assert 0 <= lot.remaining <= lot.amount, f"lot {lot.id}: {lot.remaining}/{lot.amount}"
            assert lot.state in ("available", "pending"), f"lot {lot.id}: state {lot.state}"
            lot_sums[lot.member_id, lot.state] += lot.remaining
        for member_id, b in balances.items():
            assert lot_sums[member_id, "available"] == b["available"], (
                f"member {member_id}: available lots {lot_sums[member_id, 'available']},"
                f" balance {b['available']}"
            )
            assert lot_sums[member_id, "pending"] == b["pending"], (
                f"member {member_id}: pending lots {lot_sums[member_id, 'pending']},"
                f" balance {b['pending']}"
            )

        owner = _owners(self.engine)
        _check_movements(journals, lots, movements, postings, accounts, read_time, owner)

        legs = member_posting_sums(postings, accounts)
        _check_purchases_and_redemptions(data, journals, legs, owner)

        # 8. After expiry at `now`, nothing available that expired by then has points left
        # (only checked by callers that just ran the expiry sweep).
        if now is not None:
            late = [
                x.id for x in lots if x.state == "available" and x.remaining and x.expires_at <= now
            ]
            assert not late, f"lots past expiry with points left: {late}"

        # 12. Issued - redeemed - expired - clawed back (+ written off) = outstanding.
        outstanding = sum(sum(b.values()) for b in balances.values())
        issued_net = -sum(v for k, v in system.items() if k.startswith("issued:"))
        sinks = system.get("redeemed", 0) + system.get("expired", 0) + system.get("adjustment", 0)
        assert issued_net - sinks == outstanding, (
            f"issued {issued_net} - sinks {sinks} != outstanding {outstanding}"
        )
        return Facts(
            balances={m: (b["available"], b["pending"], b["debt"]) for m, b in balances.items()},
            system=dict(system),
            lots=lots,
            counts={table: len(rows) for table, rows in data.items()},
        )

    def _append_only(self, table: str, seen: dict[int, Row], rows: list[Row]) -> None:
        """11. Rows seen before are still there, unchanged."""
        current = {r[0]: r for r in rows}
        for row_id, row in seen.items():
            assert current.get(row_id) == row, (
                f"{table} {row_id} changed: {row} -> {current.get(row_id)}"
            )
        seen.update(current)


def member_posting_sums(postings: list[Row], accounts: dict[int, Row]) -> dict[int, dict[str, int]]:
    """Journal id -> {purpose (system ones prefixed 'system:'): sum of its postings}."""
    sums: dict[int, dict[str, int]] = defaultdict(dict)
    for _, jid, account_id, amount, _ in postings:
        _, member_id, purpose, _, _ = accounts[account_id]
        key = purpose if member_id is not None else f"system:{purpose}"
        sums[jid][key] = sums[jid].get(key, 0) + int(amount)
    return sums


def _owners(engine: Engine) -> Callable[[int | None], int | None]:
    """Member id -> the member that owns its things now (a merged member's survivor)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, merged_into FROM member WHERE merged_into IS NOT NULL"
        ).all()
    merged: dict[int, int] = {int(r[0]): int(r[1]) for r in rows}

    def owner(member_id: int | None) -> int | None:
        return merged.get(member_id, member_id) if member_id is not None else None

    return owner


def _check_purchases_and_redemptions(
    data: dict[str, list[Row]],
    journals: dict[int, Row],
    legs: dict[int, dict[str, int]],
    owner: Callable[[int | None], int | None],
) -> None:
    """Refunded totals match the refund journals; every redemption matches its journal."""
    refunded: dict[str, int] = defaultdict(int)
    for row in journals.values():
        if row[1] == "refund":
            meta = json.loads(row[8])
            refunded[meta["ref"]] += int(meta["points"])
    for (
        receipt,
        member_id,
        amount,
        points,
        _,
        journal_id,
        _,
        refunded_minor,
        refunded_points,
    ) in data["purchase"]:
        assert 0 <= int(refunded_minor) <= int(amount), f"purchase {receipt}: refunded money"
        assert 0 <= int(refunded_points) <= int(points), f"purchase {receipt}: refunded points"
        assert int(refunded_points) == refunded[receipt], f"purchase {receipt}: refund journals"
        assert journals[journal_id][1] == "earn" and owner(journals[journal_id][5]) == member_id
        assert -legs[journal_id].get("system:issued:purchase", 0) == int(points) or not points
    for _, member_id, _, points, _, journal_id in data["redemption"]:
        assert journals[journal_id][1] == "redeem" and owner(journals[journal_id][5]) == member_id
        assert legs[journal_id].get("system:redeemed", 0) == int(points)
        assert legs[journal_id].get("available", 0) == -int(points)


def _check_movements(
    journals: dict[int, Row],
    lots: list[LotRow],
    movements: list[Row],
    postings: list[Row],
    accounts: dict[int, Row],
    read_time: Callable[[Any], datetime],
    owner: Callable[[int | None], int | None],
) -> None:
    """7. First-expiring-first, and every movement matches its journal."""
    lot_by_id = {lot.id: lot for lot in lots}
    released_by: dict[int, int] = {}
    for jid, row in journals.items():
        if row[1] == "release":
            released_by[int(row[2].removeprefix("release:"))] = jid
    by_journal: dict[int, list[Row]] = defaultdict(list)
    by_lot: dict[int, list[Row]] = defaultdict(list)
    for m in movements:
        assert int(m[3]) > 0, f"movement {m[0]} takes {m[3]}"
        by_journal[m[1]].append(m)
        by_lot[m[2]].append(m)
    for lot_id, rows in by_lot.items():
        taken = sum(int(m[3]) for m in rows)
        lot = lot_by_id[lot_id]
        assert lot.amount - taken == lot.remaining, (
            f"lot {lot_id}: amount {lot.amount} - movements {taken} != remaining {lot.remaining}"
        )

    # When each journal happened, as its member saw it: journal ids are taken before the
    # member's account lock (so concurrent journals commit out of id order), postings after.
    order: dict[int, int] = {}
    for posting_id, jid, _, _, _ in postings:
        order[jid] = min(order.get(jid, posting_id), posting_id)

    def remaining_before(lot: LotRow, journal_id: int) -> int:
        when = order[journal_id]
        return lot.amount - sum(int(m[3]) for m in by_lot[lot.id] if order[m[1]] < when)

    def available_at(lot: LotRow, journal_id: int) -> bool:
        when = order[journal_id]
        if lot.journal_id not in order or order[lot.journal_id] >= when:
            return False
        if lot.available_at == lot.earned_at:  # earned without a hold
            return True
        release = released_by.get(lot.id)
        return release is not None and order[release] < when

    member_posting = member_posting_sums(postings, accounts)

    for jid, rows in by_journal.items():
        kind, member_id = journals[jid][1], journals[jid][5]
        drawn = [lot_by_id[m[2]] for m in rows]
        assert all(lot.member_id == owner(member_id) for lot in drawn), (
            f"journal {jid}: another's lot"
        )
        # A refund or revoke draws the lot it reverses as "reversal", other lots as "clawback".
        expected = {
            "redeem": {"redeem"},
            "expire": {"expire"},
            "refund": {"reversal", "clawback"},
            "revoke": {"reversal", "clawback"},
            "clawback": {"reversal", "clawback"},  # a bonus taken back
        }
        assert all(m[4] in expected.get(kind, set()) for m in rows), f"journal {jid}: {rows}"
        total = sum(int(m[3]) for m in rows)
        legs = member_posting[jid]
        if kind == "redeem" and owner(member_id) != member_id:
            # The member merged into another since: its lots moved, so the order it drew them
            # in can no longer be told from the lots it owns now.
            assert total == -legs.get("available", 0), f"redeem {jid}: lots {total} != posting"
        elif kind == "redeem":
            assert total == -legs.get("available", 0), f"redeem {jid}: lots {total} != posting"
            candidates = sorted(
                (
                    lot
                    for lot in lots
                    if lot.member_id == member_id
                    and available_at(lot, jid)
                    and remaining_before(lot, jid) > 0
                ),
                key=lambda lot: (lot.expires_at, lot.id),
            )
            assert [lot.id for lot in drawn] == [lot.id for lot in candidates[: len(drawn)]], (
                f"redeem {jid} drew lots {[x.id for x in drawn]}, first-expiring-first order is"
                f" {[x.id for x in candidates]}"
            )
            for m, lot in zip(rows[:-1], drawn[:-1], strict=True):
                assert int(m[3]) == remaining_before(lot, jid), (
                    f"redeem {jid} left points in lot {lot.id} and drew a later one"
                )
        elif kind == "expire":
            assert len(rows) == 1, f"expire {jid} drew {len(rows)} lots"
            (lot,) = drawn
            assert int(rows[0][3]) == remaining_before(lot, jid), f"expire {jid} left points"
            assert lot.expires_at <= read_time(journals[jid][4]), f"expire {jid}: lot not due"
            assert total == -legs.get("available", 0)
        elif kind == "refund":
            meta = json.loads(journals[jid][8])
            assert total == meta["pending"] + meta["available"], f"refund {jid}: lots != meta"
            assert legs.get("pending", 0) == -meta["pending"]
            assert legs.get("available", 0) == -meta["available"]
            assert legs.get("system:issued:purchase", 0) == meta["points"]
        elif kind == "revoke":
            meta = json.loads(journals[jid][8])
            assert total == meta["clawed"] == -legs.get("available", 0), f"revoke {jid}"
        elif kind == "clawback":
            meta = json.loads(journals[jid][8])
            assert total == meta["pending"] + meta["available"], f"clawback {jid}: lots != meta"
            assert legs.get("pending", 0) == -meta["pending"]
            assert legs.get("available", 0) == -meta["available"]
        else:
            raise AssertionError(f"unexpected lot movement in a {kind} journal {jid}")


# -- worker processes (multiprocessing 'spawn' imports this module by name) ----------------------

_BARRIERS: dict[int, Any] = {}


def init_worker(*barriers: Any) -> None:
    """Process-pool initializer: keep the start barriers, one per number of parties."""
    for barrier in barriers:
        _BARRIERS[barrier.parties] = barrier


def redeem_task(
    url: str, member_id: int, nonces: list[str], reward_id: str, parties: int
) -> list[tuple[str, str, bool]]:
    """Redeem once per nonce; before each, wait until `parties` tasks are ready to go too.

    Each outcome is ("ok", voucher, duplicate), ("insufficient", "", False) or
    ("error", repr, False).
    """
    from core import errors
    from core.commands import RedeemReward

    barrier = _BARRIERS[parties]
    outcomes: list[tuple[str, str, bool]] = []
    db = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(db, make_program(coffee_price=100, signup=False), ManualClock())
        db.run(lambda uow: uow.ledger.find_journal("warm-up"), write=False)  # connect first
        for nonce in nonces:
            barrier.wait(timeout=60)
            try:
                result = loyalty.redeem(
                    RedeemReward(member_id=member_id, reward_id=reward_id, nonce=nonce)
                )
                outcomes.append(("ok", result.voucher, result.duplicate))
            except errors.InsufficientPoints:
                outcomes.append(("insufficient", "", False))
            except Exception as exc:
                outcomes.append(("error", repr(exc), False))
    finally:
        db.dispose()
    return outcomes


def refund_task(url: str, receipts: list[str], parties: int) -> list[tuple[str, int, bool]]:
    """Refund each receipt in full under the refund id `F-<receipt>`; before each, wait until
    `parties` tasks are ready to send the very same refund too.

    Each outcome is ("ok", points, duplicate) or ("error", 0, False) with the error's name.
    """
    from core.commands import RefundPurchase

    barrier = _BARRIERS[parties]
    outcomes: list[tuple[str, int, bool]] = []
    db = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(db, make_program(signup=False), ManualClock())
        db.run(lambda uow: uow.ledger.find_journal("warm-up"), write=False)  # connect first
        for receipt in receipts:
            barrier.wait(timeout=60)
            command = RefundPurchase(receipt=receipt, refund_id=f"F-{receipt}")
            try:
                result = loyalty.refund(command)
                outcomes.append(("ok", result.points, result.duplicate))
            except Exception as exc:
                outcomes.append((type(exc).__name__, 0, False))
    finally:
        db.dispose()
    return outcomes
