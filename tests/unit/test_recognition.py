"""Recognition in the core, against an in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core import errors
from core.kudos import Kudos
from core.model import Purpose
from core.program import Program, Recognition, parse_program
from core.recognition import GiveKudos, month_period, zone_of
from tests.unit.recognition_fakes import EPOCH, FakeClock, FakeDatabase, FakeLedger

PROGRAM = """
[program]
name = "Acme"
currency = "USD"
point_value = "0.05"
timezone = "UTC"
[earning]
points_per_unit = "1"
[[tiers]]
name = "Base"
threshold = "0"
[recognition]
monthly_allowance = 50
max_per_gift = 20
daily_pair_cap = 25
default_points = 1
values = ["teamwork", "ownership"]
reactions = { "taco" = 1 }
"""
ALI, BEA, CAN = 1, 2, 3


@pytest.fixture
def program() -> Program:
    return parse_program(PROGRAM)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


@pytest.fixture
def kudos(program: Program, clock: FakeClock) -> Kudos:
    return Kudos(FakeDatabase(), program, clock)


def gift(key: str, giver: int, receiver: int, points: int | None, reason: str = "thanks",
         zone: str | None = None) -> GiveKudos:  # fmt: skip
    return GiveKudos(
        key=key, giver_id=giver, receiver_id=receiver, points=points, reason=reason, giver_zone=zone
    )


def db(kudos: Kudos) -> FakeDatabase:
    assert isinstance(kudos.db, FakeDatabase)
    return kudos.db


def available(kudos: Kudos, member_id: int) -> int:
    return db(kudos).state.balances.get(member_id * 10, 0)


def test_a_gift_spends_allowance_and_issues_a_recognition_lot(kudos: Kudos) -> None:
    result = kudos.give(gift("k1", ALI, BEA, 5, "great demo #Teamwork #unknown"))
    assert result.allowance_left == 45
    assert result.gift.values == ("teamwork",)
    assert result.resets_at == datetime(2026, 12, 1, tzinfo=zone_of("UTC", kudos.program.zone))
    assert available(kudos, BEA) == 5
    state = db(kudos).state
    assert state.lots[result.gift.lot_id or 0].amount == 5
    source = FakeLedger(state).system_account(Purpose.ISSUED_RECOGNITION)
    assert [p.amount for _, p in state.postings if p.account_id == source] == [-5]
    assert [(m.key, m.params["giver"]) for m in state.outbox] == [
        ("notify.kudos_received", "Member 1")
    ]


def test_the_same_key_gives_once(kudos: Kudos) -> None:
    kudos.give(gift("k1", ALI, BEA, 5))
    again = kudos.give(gift("k1", ALI, BEA, 5))
    assert again.duplicate and again.allowance_left == 45
    assert available(kudos, BEA) == 5


def test_the_default_points_apply_without_an_amount(kudos: Kudos) -> None:
    assert kudos.give(gift("k1", ALI, BEA, None)).gift.points == 1


@pytest.mark.parametrize(
    ("command", "error", "params"),
    [
        (gift("a", ALI, ALI, 5), errors.SelfGift, {}),
        (
            GiveKudos(
                key="b", giver_id=ALI, receiver_id=BEA, points=5, reason="x", receiver_is_bot=True
            ),
            errors.BotGift,
            {},
        ),
        (gift("c", ALI, BEA, 21), errors.GiftTooLarge, {"points": 21, "maximum": 20}),
        (gift("d", ALI, BEA, 0), errors.GiftTooLarge, {"points": 0, "maximum": 20}),
    ],
)
def test_refusals_say_why(
    kudos: Kudos, command: GiveKudos, error: type[errors.DomainError], params: dict[str, object]
) -> None:
    with pytest.raises(error) as raised:
        kudos.give(command)
    assert raised.value.params == params
    assert not db(kudos).state.journals


def test_a_required_value_is_checked(program: Program, clock: FakeClock) -> None:
    rules = program.recognition
    assert rules is not None
    strict_rules = rules.model_copy(update={"require_value": True})
    strict = program.model_copy(update={"recognition": strict_rules})
    kudos = Kudos(FakeDatabase(), strict, clock)
    with pytest.raises(errors.ValueRequired) as raised:
        kudos.give(gift("k", ALI, BEA, 2, "thanks"))
    assert raised.value.params == {"values": ["#teamwork", "#ownership"]}
    assert kudos.give(gift("k2", ALI, BEA, 2, "thanks #ownership")).gift.points == 2


def test_over_allowance_is_refused_with_what_is_left(kudos: Kudos) -> None:
    kudos.give(gift("k1", ALI, BEA, 20))
    kudos.give(gift("k2", ALI, CAN, 20))
    with pytest.raises(errors.AllowanceExceeded) as raised:
        kudos.give(gift("k3", ALI, 4, 11))
    assert raised.value.params["left"] == 10
    assert "k3" not in db(kudos).state.journals
    assert kudos.allowance(ALI, None).left == 10


def test_the_daily_pair_cap_is_per_receiver_and_day(kudos: Kudos, clock: FakeClock) -> None:
    kudos.give(gift("k1", ALI, BEA, 20))
    with pytest.raises(errors.PairCapReached) as raised:
        kudos.give(gift("k2", ALI, BEA, 6))
    assert raised.value.params == {"points": 6, "left": 5, "cap": 25}
    kudos.give(gift("k3", ALI, CAN, 6))
    clock.current = EPOCH.replace(day=23)
    assert kudos.give(gift("k4", ALI, BEA, 6)).gift.points == 6


def test_revoking_takes_the_points_back_once_and_restores_allowance(kudos: Kudos) -> None:
    kudos.give(gift("r1", ALI, BEA, 3))
    result = kudos.revoke("r1", ALI)
    assert result is not None and result.clawed_back == 3 and not result.duplicate
    assert available(kudos, BEA) == 0
    assert kudos.allowance(ALI, None).left == 50
    again = kudos.revoke("r1", ALI)
    assert again is not None and again.duplicate
    assert available(kudos, BEA) == 0
    assert kudos.revoke("never-given", ALI) is None
    assert kudos.give(gift("r1", ALI, BEA, 3)).duplicate  # a re-added reaction gives nothing


def test_revoking_spent_points_records_a_debt(kudos: Kudos) -> None:
    kudos.give(gift("r1", ALI, BEA, 3))
    db(kudos).state.balances[BEA * 10] = 1  # Bea spent two of them
    lot_id = db(kudos).state.gifts["r1"].lot_id or 0
    lots = db(kudos).state.lots
    lots[lot_id] = replace(lots[lot_id], remaining=1)
    result = kudos.revoke("r1", None)
    assert result is not None and (result.clawed_back, result.shortfall) == (1, 2)
    assert db(kudos).state.balances[BEA * 10 + 2] == -2


def test_the_allowance_resets_at_the_month_start_in_the_givers_zone(
    kudos: Kudos, clock: FakeClock
) -> None:
    tokyo = "Asia/Tokyo"
    clock.current = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)  # 23:30 in Tokyo
    kudos.give(gift("t1", ALI, BEA, 20, zone=tokyo))
    kudos.give(gift("t2", ALI, CAN, 20, zone=tokyo))
    assert kudos.allowance(ALI, tokyo).left == 10
    clock.current = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # midnight, 1 Dec in Tokyo
    assert kudos.allowance(ALI, tokyo).left == 50
    assert kudos.allowance(ALI, "UTC").left == 10  # still November in UTC
    assert kudos.give(gift("t3", ALI, 4, 20, zone=tokyo)).allowance_left == 30


def test_month_period_and_unknown_zones(program: Program) -> None:
    period, resets = month_period(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), program.zone)
    assert (period, resets.year, resets.month) == ("2026-12", 2027, 1)
    assert zone_of("Not/AZone", program.zone) == program.zone


def test_the_leaderboard_counts_this_month_without_revoked_gifts(kudos: Kudos) -> None:
    kudos.give(gift("l1", ALI, BEA, 5))
    kudos.give(gift("l2", ALI, CAN, 7))
    kudos.give(gift("l3", BEA, CAN, 1))
    kudos.revoke("l1", ALI)
    assert [(m.id, points) for m, points in kudos.leaderboard()] == [(CAN, 8)]


def test_a_program_without_recognition_refuses(clock: FakeClock) -> None:
    plain = parse_program(PROGRAM.split("[recognition]")[0])
    with pytest.raises(errors.RecognitionOff):
        Kudos(FakeDatabase(), plain, clock).give(gift("k", ALI, BEA, 1))


def test_recognition_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="default_points"):
        Recognition(max_per_gift=2, default_points=3)
    with pytest.raises(ValueError, match="monthly_allowance"):
        Recognition(monthly_allowance=5, max_per_gift=10, default_points=1)
    assert Purpose.ISSUED_RECOGNITION.value == "issued:recognition"
