"""The purchase API served by a real `loyalty run` (no chat platform, POS_WEBHOOK_SECRET set),
on SQLite and PostgreSQL: requests signed and sent over HTTP exactly as a till sends them,
including the same purchase and the same refund sent twice at the same moment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.clock import SystemClock
from bot.settings import EXAMPLE_PROGRAM
from core.customers import ImportedCustomer
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase
from storage.migrate import upgrade
from tests.api_support import SECRET, signed
from tests.storage.fixtures import fresh_database_url
from tests.storage.ledger_checks import LedgerChecker

LOYALTY = Path(sys.executable).with_name("loyalty")
RACES = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A running `loyalty run` serving only the purchase API; yields (base URL, database URL)."""
    with fresh_database_url(str(request.param), tmp_path) as url:
        upgrade(url)
        _customers(url)
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": url, "POS_WEBHOOK_SECRET": SECRET,
               "HTTP_PORT": str(port)}  # fmt: skip
        for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
            env.pop(name, None)
        process = subprocess.Popen(
            [str(LOYALTY), "run"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(process, base)
            yield base, url
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in out + err, err.decode()


def _customers(url: str) -> None:
    db = SqlDatabase.from_url(url)
    try:
        Loyalty(db, load_program(EXAMPLE_PROGRAM), SystemClock()).import_customers(
            [ImportedCustomer(customer_id="C-1", name="Ann")]
        )
    finally:
        db.dispose()


def _wait_healthy(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError("loyalty run never became healthy")


def purchase(receipt: str, amount: str = "12.40", member: str = "customer:C-1") -> dict[str, str]:
    return {"member": member, "receipt": receipt, "amount": amount, "currency": "USD",
            "store": "main-st", "channel": "store"}  # fmt: skip


def post(base: str, path: str, body: dict[str, str] | bytes, **sign: object) -> httpx.Response:
    raw, headers = signed(body, **sign)  # type: ignore[arg-type]
    return httpx.post(f"{base}{path}", content=raw, headers=headers, timeout=30)


def test_signed_requests_over_http(server: tuple[str, str]) -> None:
    base, _ = server
    good = post(base, "/api/v1/purchases", purchase("R-1"))
    assert good.status_code == 201, good.text
    assert (good.json()["points"], good.json()["status"]) == (12, "pending")
    replayed = post(base, "/api/v1/purchases", purchase("R-1"))
    assert (replayed.status_code, replayed.json()) == (200, good.json())
    assert post(base, "/api/v1/purchases", purchase("R-1", "13.00")).status_code == 409
    raw = json.dumps(purchase("R-2")).encode()
    unsigned = httpx.post(f"{base}/api/v1/purchases", content=raw, timeout=30)
    assert unsigned.status_code == 401
    stale = post(base, "/api/v1/purchases", purchase("R-2"), at=time.time() - 600)
    assert stale.status_code == 401
    malformed = post(base, "/api/v1/purchases", b'{"member": ')
    assert (malformed.status_code, malformed.json()["fields"][0]["field"]) == (422, "body")
    wrong = post(base, "/api/v1/purchases", {**purchase("R-2"), "amount": 12})  # type: ignore[dict-item]
    assert (wrong.status_code, wrong.json()["fields"][0]["field"]) == (422, "amount")
    huge = post(base, "/api/v1/purchases", {**purchase("R-2"), "note": "x" * 10_000_000})
    assert huge.status_code == 413
    unknown = post(base, "/api/v1/purchases", purchase("R-2", member="customer:nobody"))
    assert unknown.status_code == 404
    assert httpx.get(f"{base}/api/openapi.json", timeout=30).json()["info"]["version"] == "1"


def test_the_same_purchase_and_refund_at_once_count_once(server: tuple[str, str]) -> None:
    base, url = server
    for n in range(RACES):
        receipt = f"RACE-{n}"
        statuses, bodies = asyncio.run(_twice(base, "/api/v1/purchases", purchase(receipt)))
        assert sorted(statuses) == [200, 201] and bodies[0] == bodies[1]
        refund = {"receipt": receipt, "refund_id": f"F-{n}"}
        statuses, bodies = asyncio.run(_twice(base, "/api/v1/refunds", refund))
        assert sorted(statuses) == [200, 201] and bodies[0] == bodies[1]
        assert bodies[0]["points"] == 12
    db = SqlDatabase.from_url(url)
    try:
        facts = LedgerChecker(db.engine).check()
        kinds = [row[1] for row in _journals(db)]
    finally:
        db.dispose()
    assert (kinds.count("earn"), kinds.count("refund")) == (RACES, RACES)
    assert facts.system["issued:purchase"] == 0  # every purchase earned once, refunded once


def _journals(db: SqlDatabase) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT id, kind FROM journal").all()]


async def _twice(base: str, path: str, body: dict[str, str]) -> tuple[list[int], list[object]]:
    """The same signed request on two connections at the same moment."""
    raw, headers = signed(body)
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as one,
        httpx.AsyncClient(base_url=base, timeout=30) as two,
    ):
        await asyncio.gather(one.get("/healthz"), two.get("/healthz"))  # both connected
        responses = await asyncio.gather(
            one.post(path, content=raw, headers=headers),
            two.post(path, content=raw, headers=headers),
        )
    return [r.status_code for r in responses], [r.json() for r in responses]
