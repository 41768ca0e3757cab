"""Earning rules of the program file: validated field by field, judged at the purchase's time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.api.signing import problem, signature, signed_headers
from core.earning_rules import purchase_points
from core.errors import ProgramError
from core.model import PurchaseItem
from core.program import parse_program
from core.text import normalize_receipt
from tests.unit.test_program import MINIMAL

RULES = """
[earning_rules]
stores = ["main-st", "web-shop"]
channels = ["store", "web", "app"]

[[earning_rules.promotions]]
id = "double-weekend"
name = "Double points weekend"
starts = 2026-11-28T00:00:00+03:00
ends = 2026-11-30T00:00:00+03:00
multiplier = "2"

[[earning_rules.promotions]]
id = "app-triple"
name = "Triple in the app"
starts = 2026-11-29T00:00:00+03:00
ends = 2026-11-30T00:00:00+03:00
multiplier = "3"
channels = ["app"]

[[earning_rules.category_bonuses]]
category = "beans"
points_per_unit = "1"
"""
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def points(at: datetime, **purchase: object) -> tuple[int, str | None]:
    program = parse_program(MINIMAL + RULES)  # 2 points per EUR
    earned = purchase_points(program, Decimal(1), amount_minor=10_00, at=at, **purchase)  # type: ignore[arg-type]
    return earned.points, earned.promotion


def test_promotions_apply_in_their_window_to_their_channels_and_never_stack() -> None:
    assert points(SATURDAY) == (40, "double-weekend")
    assert points(SUNDAY, channel="store") == (40, "double-weekend")
    assert points(SUNDAY, channel="app") == (60, "app-triple")
    assert points(MONDAY) == (20, None)


def test_only_the_programs_stores_and_channels_earn() -> None:
    assert points(MONDAY, store="main-st", channel="web") == (20, None)
    assert points(MONDAY, store="partner-mall") == (0, None)
    assert points(MONDAY, channel="marketplace") == (0, None)
    assert points(MONDAY) == (20, None)  # a staff /earn names neither


def test_category_bonuses_add_points_per_unit_spent_in_the_category() -> None:
    items = (
        PurchaseItem(sku="B-1", category="beans", amount_minor=4_50),
        PurchaseItem(sku="C-1", category="cups", amount_minor=5_50),
    )
    assert points(MONDAY, items=items) == (20 + 4, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('multiplier = "2"', 'multiplier = "1"'),
        ("starts = 2026-11-28T00:00:00+03:00", "starts = 2026-11-28T00:00:00"),
        (
            "ends = 2026-11-30T00:00:00+03:00\nmultiplier",
            "ends = 2026-11-27T00:00:00+03:00\nmultiplier",
        ),
        ('stores = ["main-st", "web-shop"]', 'stores = ["Main St"]'),
        ('points_per_unit = "1"', 'points_per_unit = "-1"'),
    ],
)
def test_mistakes_are_named_field_by_field(change: str, message: str) -> None:
    with pytest.raises(ProgramError) as caught:
        parse_program(MINIMAL + RULES.replace(change, message, 1), "shop.toml")
    assert "shop.toml: earning_rules." in str(caught.value)


def test_duplicate_promotion_ids_are_refused() -> None:
    text = MINIMAL + RULES.replace('id = "app-triple"', 'id = "double-weekend"')
    with pytest.raises(ProgramError, match="ids must be unique"):
        parse_program(text)


def test_receipts_key_the_same_purchase_however_they_are_printed() -> None:
    assert {normalize_receipt(r) for r in ("R-500", "r-500", "R-500.", "Ｒ-500", " R-500 ")} == {
        "R-500"
    }


def test_signatures_are_checked_on_the_raw_bytes_within_five_minutes() -> None:
    body = b'{"receipt": "R-1"}'
    headers = signed_headers("secret", body, 1_000_000)
    timestamp, given = headers["X-Loyalty-Timestamp"], headers["X-Loyalty-Signature"]
    assert given == signature("secret", "1000000", body) and given.startswith("v1=")
    assert problem("secret", timestamp, given, body, 1_000_299) is None
    assert problem("secret", timestamp, given, body, 1_000_301) is not None
    assert problem("secret", timestamp, given, body + b" ", 1_000_000) is not None
    assert problem("other", timestamp, given, body, 1_000_000) is not None
    assert problem("secret", None, given, body, 1_000_000) == "missing signature headers"
    assert problem("secret", "-5", given, body, 1_000_000) is not None
