"""The baseline for the purchase API benchmark: a bare FastAPI endpoint that checks the same
signature and writes the same journal with hand-written SQL on a small pool of psycopg
connections, served like `loyalty run` serves the API (uvicorn, `bot.runner.serve_http`).

It issues the statements the core issues for a POS purchase named by member code (member by
code, member by id, idempotency lookup, tier qualifying, journal, accounts, balances locked,
credit, postings, lot, purchase with store and channel, daily totals, outbox), in that order,
with minimal Python around them. Run as `python -m benchmarks.purchase_bare`; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount

from bot.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, problem
from bot.runner import serve_http
from bot.settings import EXAMPLE_PROGRAM
from core.program import Program, load_program

POOL = 10  # as storage.engine's PostgreSQL pool
BUTTONS = json.dumps([[{"label": "button.balance", "params": {}, "command": "/balance"}]])
_SQL = {
    "by_code": "SELECT m.id FROM member c JOIN member m ON m.id = COALESCE(c.merged_into, c.id)"
    " WHERE c.code_key = %s",
    "member": "SELECT m.id, m.code, m.display_name, m.role, m.language, m.created_at,"
    " m.referred_by FROM member m WHERE m.id = %s",
    "find_journal": "SELECT id, kind, key, request_hash, effective_at, member_id, meta"
    " FROM journal WHERE key = %s",
    "qualifying": "SELECT COALESCE(SUM(spend_minor), 0), COALESCE(SUM(points), 0)"
    " FROM purchase_day WHERE member_id = %s AND day >= %s",
    "add_journal": "INSERT INTO journal (kind, key, request_hash, effective_at, created_at,"
    " member_id, actor_id, reverses_id, meta) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " RETURNING id",
    "accounts": "SELECT purpose, id FROM account WHERE member_id = %s"
    " AND purpose IN ('available', 'pending', 'debt')",
    "balances_locked": "SELECT id, balance FROM account WHERE id IN (%s, %s, %s)"
    " ORDER BY id FOR UPDATE",
    "credit": "UPDATE account SET balance = balance + %s, version = version + 1"
    " WHERE id = %s AND member_id IS NOT NULL RETURNING balance",
    "postings": "INSERT INTO posting (journal_id, account_id, amount, balance_after)"
    " VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)",
    "add_lot": "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at,"
    " available_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
    "add_purchase": "INSERT INTO purchase (receipt, member_id, amount_minor, points, lot_id,"
    " journal_id, occurred_at, refunded_minor, refunded_points, store, channel)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
    "add_purchase_day": "INSERT INTO purchase_day (member_id, day, spend_minor, points)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (member_id, day) DO UPDATE SET"
    " spend_minor = purchase_day.spend_minor + excluded.spend_minor,"
    " points = purchase_day.points + excluded.points",
    "outbox": "INSERT INTO outbox (member_id, channel_platform, channel_id, message_key, params,"
    " buttons, image_digest, category, dedupe_key, status, attempts, not_before, created_at)"
    " VALUES (%s, NULL, NULL, %s, %s, %s, NULL, 'transactional', %s, 'queued', 0, %s, %s)"
    " ON CONFLICT (dedupe_key) DO NOTHING",
    "system_account": "SELECT id FROM account WHERE member_id IS NULL AND purpose = %s",
}


class HandWrittenPurchases:
    """One connection's worth of hand-written purchase journals."""

    def __init__(self, conn: Any, program: Program) -> None:
        self.conn = conn
        self.cur = conn.cursor()
        self.program = program
        self.issued = self.cur.execute(_SQL["system_account"], ("issued:purchase",)).fetchone()[0]
        conn.commit()
        scale = 10**program.program.currency_decimals
        self.tiers = [(int(t.threshold * scale), int(t.multiplier * 100), t.name,
                       str(t.multiplier)) for t in program.tiers]  # fmt: skip

    def _one(self, name: str, params: tuple[Any, ...]) -> Any:
        return self.cur.execute(_SQL[name], params).fetchone()

    def earn(self, body: dict[str, Any]) -> dict[str, Any]:
        """record_external_purchase's statements for a new receipt; the response body."""
        now = datetime.now(UTC)
        code = body["member"].strip().upper().replace("-", "")
        receipt, amount = body["receipt"], int(Decimal(body["amount"]) * 100)
        try:
            (member_id,) = self._one("by_code", (code,))
            self._one("member", (member_id,))
            key = f"earn:{receipt}"
            fingerprint = hashlib.sha256(f"{receipt}|{amount}|{member_id}".encode()).hexdigest()
            if self._one("find_journal", (key,)) is not None:
                raise RuntimeError(f"receipt {receipt} seen before")
            since = (now - timedelta(days=365)).date()
            spend = self._one("qualifying", (member_id, since))[0]
            tier = [t for t in self.tiers if spend >= t[0]][-1]
            points = amount * tier[1] // 10_000
            meta = json.dumps({"ref": receipt, "tier": tier[2], "x": tier[3],
                               "store": body["store"], "channel": body["channel"]})  # fmt: skip
            (journal_id,) = self._one(
                "add_journal",
                ("earn", key, fingerprint[:32], now, now, member_id, None, None, meta),
            )
            acc = dict(self.cur.execute(_SQL["accounts"], (member_id,)).fetchall())
            self.cur.execute(
                _SQL["balances_locked"], (acc["available"], acc["pending"], acc["debt"])
            ).fetchall()
            (after,) = self._one("credit", (points, acc["pending"]))
            legs = (
                journal_id,
                self.issued,
                -points,
                None,
                journal_id,
                acc["pending"],
                points,
                after,
            )
            self.cur.execute(_SQL["postings"], legs)
            hold_end = now + timedelta(days=self.program.returns.hold_days)
            expires = self.program.end_of_day(now, 365)
            (lot_id,) = self._one(
                "add_lot",
                (member_id, journal_id, points, points, "pending", now, hold_end, expires),
            )
            self.cur.execute(_SQL["add_purchase"], (receipt, member_id, amount, points, lot_id,
                             journal_id, now, 0, 0, body["store"], body["channel"]))  # fmt: skip
            self.cur.execute(_SQL["add_purchase_day"], (member_id, now.date(), amount, points))
            params = json.dumps({"points": points, "receipt": receipt})
            self.cur.execute(
                _SQL["outbox"],
                (
                    member_id,
                    "notify.points_earned",
                    params,
                    BUTTONS,
                    f"points_earned:{key}",
                    now,
                    now,
                ),
            )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return {"receipt": receipt, "member": body["member"], "points": points,
                "status": "pending", "pending_until": hold_end.isoformat(),
                "expires_at": expires.isoformat(), "occurred_at": now.isoformat(),
                "tier": tier[2], "multiplier": tier[3], "promotion": None,
                "category_bonus": 0}  # fmt: skip


class BarePurchaseApi:
    """A runner Component: POST /api/v1/purchases on the bare endpoint."""

    def __init__(self, url: str, secret: str, program: Program) -> None:
        self._secret = secret
        self._pool: queue.Queue[HandWrittenPurchases] = queue.Queue()
        for _ in range(POOL):
            conn = psycopg.connect(url, options="-c timezone=UTC" + _search_path())
            self._pool.put(HandWrittenPurchases(conn, program))
        self.app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        self.app.post("/v1/purchases", status_code=201)(self._purchase)

    async def _purchase(self, request: Request) -> JSONResponse:
        raw = await request.body()
        headers = request.headers
        why = problem(self._secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER),
                      raw, time.time())  # fmt: skip
        if why is not None:
            return JSONResponse({"error": "unauthorized", "message": why}, status_code=401)
        body = json.loads(raw)
        return JSONResponse(await run_in_threadpool(self._earn, body), status_code=201)

    def _earn(self, body: dict[str, Any]) -> dict[str, Any]:
        writer = self._pool.get()
        try:
            return writer.earn(body)
        finally:
            self._pool.put(writer)

    def routes(self) -> list[Mount]:
        return [Mount("/api", app=self.app)]

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


def _search_path() -> str:
    schema = os.environ.get("BENCH_SCHEMA")
    return f" -c search_path={schema}" if schema else ""


def main() -> None:
    env = os.environ
    program = load_program(EXAMPLE_PROGRAM)  # `loyalty run` runs the same shipped program
    component = BarePurchaseApi(env["BENCH_LIBPQ"], env["POS_WEBHOOK_SECRET"], program)
    asyncio.run(serve_http([component], env.get("HTTP_HOST", "127.0.0.1"), int(env["HTTP_PORT"])))


if __name__ == "__main__":
    main()
