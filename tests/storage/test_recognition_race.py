"""Gifts racing for the last allowance points: exactly one wins, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from core import errors
from core.kudos import Kudos
from core.loyalty import Loyalty
from core.model import Identity
from core.program import parse_program
from core.recognition import GiftResult, GiveKudos
from storage.database import SqlDatabase

PROGRAM = """
[program]
name = "Acme"
currency = "USD"
point_value = "0.05"
[earning]
points_per_unit = "1"
[[tiers]]
name = "Base"
threshold = "0"
[recognition]
monthly_allowance = 50
max_per_gift = 45
daily_pair_cap = 45
"""
RACERS = 8


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_only_one_gift_gets_the_last_allowance_points(db: SqlDatabase) -> None:
    program = parse_program(PROGRAM)
    loyalty = Loyalty(db, program, FixedClock())
    kudos = Kudos(db, program, FixedClock())
    ids = [
        loyalty.enroll(
            Identity(platform="slack", external_id=f"U{i}", display_name=f"P{i}")
        ).member.id
        for i in range(RACERS + 2)
    ]
    giver, first, receivers = ids[0], ids[1], ids[2:]
    kudos.give(
        GiveKudos(key="first", giver_id=giver, receiver_id=first, points=45, reason="warm-up")
    )
    barrier = threading.Barrier(RACERS)

    def race(receiver: int) -> GiftResult | errors.AllowanceExceeded:
        barrier.wait()
        try:
            return kudos.give(
                GiveKudos(
                    key=f"race:{receiver}",
                    giver_id=giver,
                    receiver_id=receiver,
                    points=5,
                    reason="last ones",
                )
            )
        except errors.AllowanceExceeded as refused:
            return refused

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(race, receivers))
    winners = [o for o in outcomes if isinstance(o, GiftResult)]
    refused = [o for o in outcomes if isinstance(o, errors.AllowanceExceeded)]
    assert (len(winners), len(refused)) == (1, RACERS - 1)
    assert all(r.params["left"] == 0 for r in refused)
    assert kudos.allowance(giver, None).left == 0
    balances = [loyalty.balance(receiver).available for receiver in receivers]
    assert sorted(balances) == [0] * (RACERS - 1) + [5]
