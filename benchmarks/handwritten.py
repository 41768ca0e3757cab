"""Baseline (a): the same journals as the core, written by hand on the bare driver.

Each statement below is the one the storage layer issues for that step (same text, same
order, same rows written); only the Python around them is minimal. So core/handwritten is
the price of the façade, the services and the repositories, not of different SQL work.
`python -m benchmarks --quick` checks the statement sequences match on SQLite.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.program import Program

_SQL: dict[str, str] = {
    "member": "SELECT m.id, m.code, m.display_name, m.role, m.language, m.created_at,"
    " m.referred_by FROM member m WHERE m.id = ?",
    "find_journal": "SELECT id, kind, key, request_hash, effective_at, member_id, meta"
    " FROM journal WHERE key = ?",
    "qualifying": "SELECT COALESCE(SUM(spend_minor), 0), COALESCE(SUM(points), 0)"
    " FROM purchase_day WHERE member_id = ? AND day >= ?",
    "add_journal": "INSERT INTO journal (kind, key, request_hash, effective_at, created_at,"
    " member_id, actor_id, reverses_id, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    "accounts": "SELECT purpose, id FROM account WHERE member_id = ?"
    " AND purpose IN ('available', 'pending', 'debt')",
    "balances_locked": "SELECT id, balance FROM account WHERE id IN (?, ?, ?)",
    "credit": "UPDATE account SET balance = balance + ?, version = version + 1"
    " WHERE id = ? AND member_id IS NOT NULL RETURNING balance",
    "debit": "UPDATE account SET balance = balance - ?, version = version + 1"
    " WHERE id = ? AND member_id IS NOT NULL AND balance - ? >= ? RETURNING balance",
    "postings": "INSERT INTO posting (journal_id, account_id, amount, balance_after)"
    " VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
    "add_lot": "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at,"
    " available_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    "add_purchase": "INSERT INTO purchase (receipt, member_id, amount_minor, points, lot_id,"
    " journal_id, occurred_at, refunded_minor, refunded_points)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "add_purchase_day": "INSERT INTO purchase_day (member_id, day, spend_minor, points)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (member_id, day) DO UPDATE SET"
    " spend_minor = purchase_day.spend_minor + excluded.spend_minor,"
    " points = purchase_day.points + excluded.points",
    "outbox": "INSERT INTO outbox (member_id, channel_platform, channel_id, message_key, params,"
    " buttons, image_digest, category, dedupe_key, status, attempts, not_before, created_at)"
    " VALUES (?, NULL, NULL, ?, ?, ?, NULL, 'transactional', ?, 'queued', 0, ?, ?)"
    " ON CONFLICT (dedupe_key) DO NOTHING",
    "due_pending": "SELECT id, member_id, amount, remaining, state, earned_at, available_at,"
    " expires_at FROM lot WHERE member_id = ? AND state = 'pending' AND remaining > 0"
    " AND available_at <= ? ORDER BY available_at, id LIMIT ?",
    "drawable": "SELECT id, member_id, amount, remaining, state, earned_at, available_at,"
    " expires_at FROM lot WHERE member_id = ? AND state = 'available' AND remaining > 0"
    " ORDER BY expires_at, id LIMIT ?",
    "drawable_after": "SELECT id, member_id, amount, remaining, state, earned_at,"
    " available_at, expires_at FROM lot WHERE member_id = ? AND state = 'available'"
    " AND remaining > 0 AND (expires_at, id) > (?, ?) ORDER BY expires_at, id LIMIT ?",
    "take": "UPDATE lot SET remaining = remaining - ? WHERE id = ? AND remaining >= ?",
    "movements": "INSERT INTO lot_movement (journal_id, lot_id, amount, kind) VALUES",
    "redemption": "INSERT INTO redemption (member_id, reward_id, points, voucher, journal_id,"
    " created_at, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    "system_account": "SELECT id FROM account WHERE member_id IS NULL AND purpose = ?",
}


_BALANCE_BUTTON = json.dumps([[{"label": "button.balance", "params": {}, "command": "/balance"}]])


class HandWritten:
    """Earn and redeem journals on one driver connection (sqlite3 or psycopg)."""

    def __init__(self, conn: Any, engine: str, program: Program, now: datetime) -> None:
        self.conn = conn
        self.sqlite = engine == "sqlite"
        self.cur = conn.cursor()
        self.program = program
        self.now = now
        self.sql = {k: v if self.sqlite else v.replace("?", "%s") for k, v in _SQL.items()}
        if not self.sqlite:  # PostgreSQL takes the member's row locks, in id order
            self.sql["balances_locked"] += " ORDER BY id FOR UPDATE"
        self.t: Callable[[datetime], Any] = _sqlite_time if self.sqlite else _pg_time
        self.day: Callable[[datetime], Any] = _sqlite_day if self.sqlite else _pg_day
        self._system: dict[str, int] = {}
        # Tier thresholds in minor units and multipliers in hundredths: integer arithmetic.
        scale = 10**program.program.currency_decimals
        self._cap = program.earning.max_points_per_purchase or 10**12
        self._tiers = [
            (int(t.threshold * scale), int(t.multiplier * 100), t.name, str(t.multiplier))
            for t in program.tiers
        ]

    def system_account(self, purpose: str) -> int:
        """Looked up once and cached, as SqlDatabase does."""
        if purpose not in self._system:
            self.cur.execute(self.sql["system_account"], (purpose,))
            self._system[purpose] = self.cur.fetchone()[0]
        return self._system[purpose]

    def _begin(self) -> None:
        if self.sqlite:
            self.cur.execute("BEGIN IMMEDIATE")

    def _one(self, name: str, params: tuple[Any, ...]) -> Any:
        return self.cur.execute(self.sql[name], params).fetchone()

    def _accounts(self, member_id: int) -> dict[str, int]:
        return dict(self.cur.execute(self.sql["accounts"], (member_id,)).fetchall())

    def earn(self, member_id: int, receipt: str, amount_minor: int) -> int:
        """record_purchase's statements: points go pending for the return hold."""
        now, t, program = self.now, self.t, self.program
        issued = self.system_account("issued:purchase")
        self._begin()
        try:
            self._one("member", (member_id,))
            key = f"earn:{receipt}"
            digest = hashlib.sha256(f"{receipt}|{amount_minor}|{member_id}".encode())
            fingerprint = digest.hexdigest()[:32]
            if self._one("find_journal", (key,)) is not None:
                raise RuntimeError(f"receipt {receipt} seen before")
            since = now - timedelta(days=program.tier_qualification.window_days)
            spend = self._one("qualifying", (member_id, self.day(since)))[0]
            tier = [x for x in self._tiers if spend >= x[0]][-1]
            points = min(amount_minor * tier[1] // 10_000, self._cap)
            meta = json.dumps({"ref": receipt, "tier": tier[2], "x": tier[3]})
            created = t(datetime.now(UTC))
            (journal_id,) = self._one(
                "add_journal",
                ("earn", key, fingerprint, t(now), created, member_id, None, None, meta),
            )
            acc = self._accounts(member_id)
            self.cur.execute(
                self.sql["balances_locked"], (acc["available"], acc["pending"], acc["debt"])
            ).fetchall()
            (after,) = self._one("credit", (points, acc["pending"]))
            self.cur.execute(
                self.sql["postings"],
                (journal_id, issued, -points, None, journal_id, acc["pending"], points, after),
            )
            hold_end = now + timedelta(days=program.returns.hold_days)
            expires = program.end_of_day(now, 365)
            (lot_id,) = self._one(
                "add_lot",
                (member_id, journal_id, points, points, "pending", t(now), t(hold_end),
                 t(expires)),
            )  # fmt: skip
            self.cur.execute(
                self.sql["add_purchase"],
                (receipt, member_id, amount_minor, points, lot_id, journal_id, t(now), 0, 0),
            )
            self.cur.execute(
                self.sql["add_purchase_day"], (member_id, self.day(now), amount_minor, points)
            )
            params = json.dumps({"points": points, "receipt": receipt})
            self.cur.execute(
                self.sql["outbox"],
                (member_id, "notify.points_earned", params, _BALANCE_BUTTON,
                 f"points_earned:{key}", t(now), t(now)),
            )  # fmt: skip
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return points

    def redeem(self, member_id: int, nonce: str, reward: str, price: int) -> str:
        """redeem's statements: journal first, conditional debit, FEFO lot draw, redemption."""
        now, t = self.now, self.t
        redeemed = self.system_account("redeemed")
        self._begin()
        try:
            key = f"redeem:{nonce}"
            fingerprint = hashlib.sha256(f"{member_id}|{reward}".encode()).hexdigest()[:32]
            if self._one("find_journal", (key,)) is not None:
                raise RuntimeError(f"nonce {nonce} seen before")
            if self.cur.execute(self.sql["due_pending"], (member_id, t(now), 1000)).fetchall():
                raise RuntimeError("benchmark members have no pending points to release")
            meta = json.dumps({"ref": reward, "reward": reward})
            created = t(datetime.now(UTC))
            (journal_id,) = self._one(
                "add_journal",
                ("redeem", key, fingerprint, t(now), created, member_id, None, None, meta),
            )
            acc = self._accounts(member_id)
            row = self._one("debit", (price, acc["available"], price, 0))
            if row is None:
                raise RuntimeError("not enough points")
            draws = self._plan_draw(member_id, price)
            params: list[Any] = []
            for lot_id, take in draws:
                self.cur.execute(self.sql["take"], (take, lot_id, take))
                params += (journal_id, lot_id, take, "redeem")
            values = ", ".join(["(?, ?, ?, ?)"] * len(draws))
            if not self.sqlite:
                values = values.replace("?", "%s")
            self.cur.execute(f"{self.sql['movements']} {values}", params)
            self.cur.execute(
                self.sql["postings"],
                (journal_id, acc["available"], -price, row[0], journal_id, redeemed, price, None),
            )
            code = secrets.token_hex(4).upper()
            voucher = f"{reward[:3].upper()}-{code[:4]}-{code[4:]}"
            valid_until = self.program.end_of_day(now, 30)
            self._one(
                "redemption",
                (member_id, reward, price, voucher, journal_id, t(now), t(valid_until)),
            )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return voucher

    def _plan_draw(self, member_id: int, amount: int) -> list[tuple[int, int]]:
        draws: list[tuple[int, int]] = []
        rows = self.cur.execute(self.sql["drawable"], (member_id, 32)).fetchall()
        while True:
            for row in rows:
                take = min(amount, row[3])
                draws.append((row[0], take))
                amount -= take
                if not amount:
                    return draws
            if not rows:
                raise RuntimeError("lots are short of the balance")
            last = rows[-1]
            rows = self.cur.execute(
                self.sql["drawable_after"], (member_id, last[7], last[0], 32)
            ).fetchall()


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(value: datetime) -> datetime:
    return value


def _sqlite_day(value: datetime) -> str:
    return value.astimezone(UTC).date().isoformat()


def _pg_day(value: datetime) -> date:
    return value.astimezone(UTC).date()
