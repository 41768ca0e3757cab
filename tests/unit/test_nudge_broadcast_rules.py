"""The pure parts of nudges and broadcasts: the [nudges] section, segments, birthdays, schedule
times, the holdout's size and the lift's arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core import categories
from core.birthdays import parse_birthday
from core.broadcasts import BadTime, holdout_size, parse_when
from core.errors import ProgramError
from core.lift import GroupSums, lift_of
from core.nudge_rules import Nudges
from core.program import load_program, parse_program
from core.segments import Segment, UnknownSegment, parse_segment
from tests.storage.gamification_support import PROGRAM
from tests.storage.nudge_support import NUDGES, nudge_program

COFFEE = Path(__file__).resolve().parents[2] / "bot" / "programs" / "coffee.toml"


def test_every_nudge_kind_is_a_category_members_can_opt_out_of() -> None:
    kinds = Nudges.model_fields.keys() - {"send_from", "per_day", "per_week"}
    program = nudge_program()
    assert program.nudges is not None and set(program.nudges.enabled()) == kinds
    from core.nudges import KIND_CATEGORY

    assert set(KIND_CATEGORY) == kinds
    assert set(KIND_CATEGORY.values()) == set(categories.NUDGES) <= set(categories.MARKETING)


def test_the_example_program_has_nudges() -> None:
    program = load_program(COFFEE)
    assert program.nudges is not None and len(program.nudges.enabled()) == 8


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("per_day = 1", "per_day = 5"),  # more a day than a week
        ("days = 30", "days = 0"),
        ("[nudges.streak]", "[nudges.streaks]"),
        ("bonus_points = 40", "bonus_points = -1"),
    ],
)
def test_a_bad_nudges_section_is_refused(change: str, problem: str) -> None:
    good = NUDGES.format(per_day=1, per_week=3)
    base = PROGRAM.format(
        window_days=90, downgrade="one_tier", hold_days=0, self_service="nobody", cap=2
    )
    assert parse_program(base + good, "good").nudges is not None
    with pytest.raises(ProgramError):
        text = good.replace(change, problem, 1)
        parse_program(base + text, "bad")


def test_segments() -> None:
    program = load_program(COFFEE)
    assert parse_segment("all", program) == (Segment(), "all")
    segment, canonical = parse_segment("Gold+lang:tr+inactive:30", program)
    assert segment == Segment(tier="gold", language="tr", inactive_days=30)
    assert canonical == "gold+lang:tr+inactive:30"
    assert parse_segment("green", program)[0].base_tier
    assert parse_segment("platform:slack", program)[0].platforms == ("slack",)
    assert parse_segment("challenge:monthly-30", program)[0].challenge == "monthly-30"
    for bad in ("", "nobody", "gold+silver", "inactive:0", "challenge:nope", "lang:x",
                "platform:fax", "all+gold"):  # fmt: skip
        with pytest.raises(UnknownSegment):
            parse_segment(bad, program)


def test_birthdays() -> None:
    assert parse_birthday("14 Mar") == date(2000, 3, 14)
    assert parse_birthday("mar 14") == date(2000, 3, 14)
    assert parse_birthday("14 Mart") == date(2000, 3, 14)
    assert parse_birthday("29.02") == date(2000, 2, 29)
    assert parse_birthday("1990-03-14") == date(1990, 3, 14)
    for bad in ("31 Feb", "14", "Smarch 3", "99/99", ""):
        assert parse_birthday(bad) is None


def test_schedule_times_are_read_in_the_authors_zone() -> None:
    zone = ZoneInfo("Europe/Istanbul")
    now = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 18:00 in Istanbul
    assert parse_when("19:30", zone, now) == datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    assert parse_when("tomorrow 09:00", zone, now) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert parse_when("2026-12-01 09:00", zone, now) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    for bad in ("25:00", "soon", "2026-13-01 09:00", "tomorrow"):
        with pytest.raises(BadTime):
            parse_when(bad, zone, now)


def test_holdout_is_the_share_rounded() -> None:
    assert holdout_size(1000, 10) == 100
    assert holdout_size(37, 10) == 4  # 3.7
    assert holdout_size(25, 10) == 3  # 2.5 rounds half up
    assert holdout_size(24, 10) == 2
    assert holdout_size(1000, 0) == 0


def test_lift_means_difference_and_interval() -> None:
    # Audience: 100 members, half visited once (mean 0.5, variance ~0.2525); holdout none.
    audience = GroupSums(members=100, sums=(50, 5000, 0), squares=(50, 500000, 0))
    holdout = GroupSums(members=50, sums=(0, 0, 0), squares=(0, 0, 0))
    lift = lift_of(audience, holdout, 7)
    visits = lift.metrics[0]
    assert (visits.audience, visits.holdout, visits.difference) == (0.5, 0.0, 0.5)
    assert visits.low == pytest.approx(0.5 - 1.96 * (0.25 * 100 / 99 / 100) ** 0.5)
    assert visits.clear and lift.enough
    redemptions = lift.metrics[2]
    assert redemptions.difference == 0 and not redemptions.clear
    small = lift_of(GroupSums(members=29), GroupSums(members=3), 30)
    assert not small.enough
