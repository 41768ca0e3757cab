"""The program file's gamification sections, validated field by field; store codes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.settings import EXAMPLE_PROGRAM
from core.errors import ProgramError
from core.program import load_program, parse_program
from core.stores import code_matches, store_code

BASE = """
[program]
name = "Test"
currency = "USD"
point_value = "0.05"

[earning]
points_per_unit = "1"

[[tiers]]
name = "Green"
threshold = "0"

[[tiers]]
name = "Gold Club"
threshold = "500"

[awards.actions]
review = 50
"""


def program_with(extra: str) -> str:
    return BASE + extra


def test_the_example_program_ships_challenges_of_every_kind_and_every_section() -> None:
    program = load_program(EXAMPLE_PROGRAM)
    assert len(program.challenges) >= 4
    assert {c.kind.value for c in program.challenges} == {
        "visits",
        "spend",
        "distinct",
        "streak",
        "actions",
    }
    assert {c.window.value for c in program.challenges} == {"weekly", "monthly", "fixed"}
    assert any(c.opt_in for c in program.challenges)
    assert [s.id for s in program.stores] == ["main-st", "harbour"]
    assert program.referrals is not None and program.leaderboard is not None
    assert [t.id for t in program.tiers] == ["green", "silver", "gold"]
    assert program.guardrails.action_limits["review"].value == "per_receipt"


def test_tiers_without_ids_get_one_from_their_name() -> None:
    program = parse_program(BASE)
    assert [t.id for t in program.tiers] == ["green", "gold-club"]
    assert program.tier_index("gold-club") == 1 and program.tier_index("platinum") is None
    assert program.tier_qualification.downgrade == "one_tier"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "visits"\ntarget = 3\n',
            "challenges.0: a challenge rewards points, a badge or both",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "visits"\ntarget = "2.5"\npoints = 1\n',
            "target must be a whole number",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "spend"\ntarget = 30\npoints = 1\n'
            'window = "fixed"\nstarts = 2026-12-01\n',
            "a fixed window needs starts and ends",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "actions"\ntarget = 1\npoints = 1\n',
            "names the actions it counts",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "actions"\nactions = ["dance"]\n'
            "target = 1\npoints = 1\n",
            "unknown actions ['dance']",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "visits"\nstores = ["moon"]\n'
            "target = 1\npoints = 1\n",
            "unknown stores ['moon']",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "visits"\ntarget = 1\npoints = 1\n'
            "grace_days = 2\n",
            "grace_days belong to streak challenges only",
        ),
        (
            '[[challenges]]\nid = "a"\nname = "A"\nkind = "visits"\ntarget = 1\npoints = 1\n'
            'window = "daily"\n',
            "challenges.0.window: Input should be 'weekly', 'monthly'",
        ),
        ('[[stores]]\nid = "x"\nname = "X"\ntimezone = "Mars/Base"\n', "unknown time zone"),
        (
            '[[stores]]\nid = "x"\nname = "X"\n[[stores]]\nid = "x"\nname = "Y"\n',
            "stores: ids must be unique",
        ),
        ("[referrals]\nmonthly_cap = 0\n", "referrals.monthly_cap"),
        ('[guardrails.action_limits]\nbirthday = "yearly"\n', "unknown actions ['birthday']"),
        ('[guardrails]\nself_service = "everyone"\n', "guardrails.self_service"),
        ('[leaderboard]\nperiod = "daily"\n', "leaderboard.period"),
    ],
)
def test_mistakes_are_reported_field_by_field(extra: str, message: str) -> None:
    with pytest.raises(ProgramError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_program(program_with(extra), "my.toml")


def test_the_example_program_parses_with_its_shipped_text(tmp_path: Path) -> None:
    copy = tmp_path / "coffee.toml"
    copy.write_text(EXAMPLE_PROGRAM.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_program(copy).challenge("three-visits") is not None


def test_a_store_code_depends_on_the_secret_the_store_and_the_day() -> None:
    secret, today = b"server-secret", date(2026, 3, 8)
    code = store_code(secret, "main-st", today)
    assert len(code) == 4 and code == store_code(secret, "main-st", today)
    assert code_matches(secret, "main-st", today, code.lower())
    others = {
        store_code(secret, "main-st", date(2026, 3, 7)),
        store_code(secret, "harbour", today),
        store_code(b"another-secret", "main-st", today),
    }
    assert code not in others
    assert not code_matches(secret, "harbour", today, code)
    assert not code_matches(secret, "main-st", date(2026, 3, 9), code)
