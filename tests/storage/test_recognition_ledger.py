"""Recognition gifts on the ledger: revoking takes back what is there, never what expired."""

from __future__ import annotations

from datetime import timedelta

from core.kudos import Kudos
from core.program import parse_program
from core.recognition import GiveKudos
from storage.database import SqlDatabase
from tests.storage.ledger_checks import LedgerChecker, ManualClock, new_loyalty, person

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
[expiry]
lot_lifetime_days = 10
[recognition]
monthly_allowance = 50
max_per_gift = 20
daily_pair_cap = 20
"""


def test_revoking_a_gift_whose_points_expired_takes_nothing_again(db: SqlDatabase) -> None:
    program = parse_program(PROGRAM)
    clock = ManualClock()
    loyalty = new_loyalty(db, program, clock)
    kudos = Kudos(db, program, clock)
    giver, receiver = (loyalty.enroll(person(n)).member.id for n in (1, 2))
    kudos.give(
        GiveKudos(key="gift-1", giver_id=giver, receiver_id=receiver, points=15, reason="thanks")
    )
    clock.advance(timedelta(days=12))
    assert loyalty.expire_due().points == 15
    kudos.give(
        GiveKudos(key="gift-2", giver_id=giver, receiver_id=receiver, points=5, reason="again")
    )

    result = kudos.revoke("gift-1", None)

    assert result is not None and (result.clawed_back, result.shortfall) == (0, 0)
    facts = LedgerChecker(db.engine).check(now=clock.now())
    assert facts.balances[receiver] == (5, 0, 0)  # the later gift is untouched, no debt
    assert facts.system.get("expired", 0) == 0


def test_revoking_a_spent_gift_leaves_a_debt(db: SqlDatabase) -> None:
    program = parse_program(PROGRAM)
    clock = ManualClock()
    loyalty = new_loyalty(db, program, clock)
    kudos = Kudos(db, program, clock)
    giver, receiver = (loyalty.enroll(person(n)).member.id for n in (1, 2))
    kudos.give(
        GiveKudos(key="gift-1", giver_id=giver, receiver_id=receiver, points=15, reason="thanks")
    )
    kudos.give(
        GiveKudos(key="gift-2", giver_id=receiver, receiver_id=giver, points=12, reason="back")
    )  # allowance, not points
    result = kudos.revoke("gift-1", None)
    assert result is not None and (result.clawed_back, result.shortfall) == (15, 0)
    assert LedgerChecker(db.engine).check(now=clock.now()).balances[receiver] == (0, 0, 0)
