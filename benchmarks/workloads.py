"""The timed loops: core journals, their hand-written twins, bare inserts, balance reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.handwritten import HandWritten
from benchmarks.settings import REDEEM_REWARD
from core.commands import RecordPurchase, RedeemReward
from core.loyalty import Loyalty


def amount_for(i: int) -> int:
    """A purchase amount in cents, $3.50 to $43.49: varied like real receipts."""
    return 350 + (i * 97) % 4000


def timed(ops: int, step: Callable[[int], object], first: int = 0) -> float:
    """Seconds for step(i), i = first ... first + ops - 1."""
    start = time.perf_counter()
    for i in range(first, first + ops):
        step(i)
    return time.perf_counter() - start


def core_earn(loyalty: Loyalty, members: list[int], ops: int, tag: str, first: int = 0) -> float:
    def step(i: int) -> object:
        member = members[i % len(members)]
        return loyalty.record_purchase(
            RecordPurchase(member_id=member, receipt=f"{tag}-{i}", amount_minor=amount_for(i))
        )

    return timed(ops, step, first)


def hand_earn(hand: HandWritten, members: list[int], ops: int, tag: str, first: int = 0) -> float:
    return timed(
        ops, lambda i: hand.earn(members[i % len(members)], f"{tag}-{i}", amount_for(i)), first
    )


def core_redeem(loyalty: Loyalty, members: list[int], ops: int, tag: str, first: int = 0) -> float:
    def step(i: int) -> object:
        member = members[i % len(members)]
        return loyalty.redeem(
            RedeemReward(member_id=member, reward_id=REDEEM_REWARD, nonce=f"{tag}-{i}")
        )

    return timed(ops, step, first)


def hand_redeem(
    hand: HandWritten, members: list[int], ops: int, tag: str, price: int, first: int = 0
) -> float:
    def step(i: int) -> object:
        return hand.redeem(members[i % len(members)], f"{tag}-{i}", REDEEM_REWARD, price)

    return timed(ops, step, first)


def bare_inserts(conn: Any, engine: str, ops: int) -> float:
    """Baseline (b): one-row INSERT + COMMIT, the floor any durable journal sits on."""
    cur = conn.cursor()
    if engine == "sqlite":
        cur.execute("CREATE TABLE IF NOT EXISTS bench_row (id INTEGER PRIMARY KEY, v TEXT)")
        insert = "INSERT INTO bench_row (v) VALUES (?)"
    else:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_row (id BIGSERIAL PRIMARY KEY, v TEXT)")
        conn.commit()
        insert = "INSERT INTO bench_row (v) VALUES (%s)"

    def step(i: int) -> None:
        if engine == "sqlite":  # the same write-transaction discipline as the ledger
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(insert, (f"row-{i}",))
        conn.commit()

    return timed(ops, step)


def balance_latencies(loyalty: Loyalty, member_id: int, calls: int) -> list[float]:
    """Seconds per Loyalty.balance call, after a few warm-up calls."""
    for _ in range(3):
        loyalty.balance(member_id)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        loyalty.balance(member_id)
        samples.append(time.perf_counter() - start)
    return samples
