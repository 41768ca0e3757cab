"""The program file: the example loads, mistakes are named field by field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.settings import EXAMPLE_PROGRAM
from core.errors import ProgramError
from core.program import Program, load_program, parse_program

MINIMAL = """
[program]
name = "Shop"
currency = "EUR"
point_value = "0.01"
timezone = "Europe/Istanbul"
[earning]
points_per_unit = "2"
[[tiers]]
name = "Basic"
threshold = "0"
"""


def test_example_program_loads() -> None:
    program = load_program(EXAMPLE_PROGRAM)
    assert program.program.name == "Acme Coffee Rewards"
    assert [tier.name for tier in program.tiers] == ["Green", "Silver", "Gold"]
    assert program.reward("latte") is not None


def test_minimal_program_gets_defaults() -> None:
    program = parse_program(MINIMAL)
    assert program.returns.hold_days == 0
    assert program.refunds.when_spent == "debt"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('currency = "EUR"', 'currency = "euro"'), "program.currency"),
        (('timezone = "Europe/Istanbul"', 'timezone = "Mars/Base"'), "unknown time zone"),
        (('points_per_unit = "2"', 'points_per_unit = "2"\nbonus = 1'), "earning.bonus: unknown"),
        (('threshold = "0"', 'threshold = "5"'), "first tier must have threshold 0"),
        (('point_value = "0.01"', 'point_value = "-1"'), "program.point_value"),
    ],
)
def test_mistakes_name_the_field(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ProgramError, match=message.replace("(", r"\(")):
        parse_program(MINIMAL.replace(*change), "shop.toml")


def test_not_toml_is_refused() -> None:
    with pytest.raises(ProgramError, match="not valid TOML"):
        parse_program("[program", "broken.toml")


def test_missing_file_is_named(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(ProgramError, match="cannot read"):
        load_program(EXAMPLE_PROGRAM.with_name("missing.toml"))


def test_lifetime_must_outlast_the_return_hold() -> None:
    text = MINIMAL + "[expiry]\nlot_lifetime_days = 10\n[returns]\nhold_days = 10\n"
    with pytest.raises(ProgramError, match="lot_lifetime_days must be longer"):
        parse_program(text)


@pytest.fixture
def program() -> Program:
    return parse_program(MINIMAL)


def test_points_are_rounded_down_and_multiplied(program: Program) -> None:
    assert program.base_points(1249, Decimal(1)) == 24  # 12.49 EUR x 2
    assert program.base_points(1000, Decimal("1.5")) == 30


def test_money_refuses_sub_minor_precision(program: Program) -> None:
    assert program.to_minor(Decimal("12.40")) == 1240
    with pytest.raises(ValueError, match="decimals"):
        program.to_minor(Decimal("1.005"))


def test_end_of_day_is_in_the_program_zone(program: Program) -> None:
    moment = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # already the 23rd in Istanbul
    end = program.end_of_day(moment, 0)
    assert end.astimezone(program.zone).date().isoformat() == "2026-11-23"
    assert (end.hour, end.minute) == (23, 59)


def test_tier_for_thresholds() -> None:
    program = load_program(EXAMPLE_PROGRAM)
    assert [program.tier_for(Decimal(v)) for v in (0, 149, 150, 499, 500)] == [0, 0, 1, 1, 2]


REWARD = 'threshold = "0"\n[[rewards]]\nid = "x"\nname = "X"\n'


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (('threshold = "0"', REWARD + "price = 99999999999999999999"), "rewards.0.price"),
        (('points_per_unit = "2"', 'points_per_unit = "2"\nmax_purchase = "1e400"'),
         "earning.max_purchase"),
        (('points_per_unit = "2"', 'points_per_unit = "Infinity"'), "earning.points_per_unit"),
        (('threshold = "0"', 'threshold = "0"\n[expiry]\nlot_lifetime_days = 10000000'),
         "expiry.lot_lifetime_days"),
        (('name = "Shop"', 'name = "Sh\\u0000op"'), "program.name"),
        (('name = "Basic"', f'name = "{"B" * 65}"'), "tiers.0.name"),
    ],
)  # fmt: skip
def test_numbers_and_names_out_of_range_are_field_errors(
    change: tuple[str, str], field: str
) -> None:
    with pytest.raises(ProgramError, match=field.replace(".", r"\.")):
        parse_program(MINIMAL.replace(*change), "shop.toml")


def test_a_program_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.replace("Shop", "Café").encode("latin-1"))
    with pytest.raises(ProgramError, match=r"latin1\.toml: line 3: not UTF-8 text"):
        load_program(path)
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())  # a byte-order mark is fine
    assert load_program(path).program.name == "Shop"
