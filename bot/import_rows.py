"""The two CSV imports' rows: purchases (the purchase API's fields) and customers.

Each parser turns one CSV row into a core command or raises `Rejected` with the reason;
extra columns are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from bot.importer import Kind, Outcome, Rejected
from core import errors
from core.customers import ImportedCustomer
from core.earning_rules import NAME_PATTERN
from core.loyalty import Loyalty
from core.pos import ExternalPurchase
from core.text import normalize_receipt

PURCHASE_COLUMNS = ("member", "receipt", "amount")
PURCHASE_OPTIONAL = ("currency", "occurred_at", "store", "channel")
MEMBER_COLUMNS = ("customer_id", "name")
MEMBER_OPTIONAL = ("telegram_username", "birthday", "points")
LARGEST_OPENING = 10_000_000
LARGEST_AMOUNT = Decimal(10) ** 12
NAME = re.compile(NAME_PATTERN)


def purchases(loyalty: Loyalty) -> Kind[ExternalPurchase]:
    """`loyalty import-purchases`: idempotent by receipt, earning by each purchase's date."""

    def apply(rows: Sequence[ExternalPurchase]) -> list[Outcome]:
        results = loyalty.record_external_purchases(list(rows))
        return [Outcome(not r.earn.duplicate, r.earn.expired) for r in results]

    return Kind(
        name="purchases",
        required=PURCHASE_COLUMNS,
        optional=PURCHASE_OPTIONAL,
        parse=lambda raw: purchase_row(loyalty, raw),
        apply=apply,
        describe=describe,
    )


def members(loyalty: Loyalty) -> Kind[ImportedCustomer]:
    """`loyalty import-members`: idempotent by customer id, opening balances as journals."""

    def apply(rows: Sequence[ImportedCustomer]) -> list[Outcome]:
        return [Outcome(r.created) for r in loyalty.import_customers(list(rows))]

    return Kind(
        name="members",
        required=MEMBER_COLUMNS,
        optional=MEMBER_OPTIONAL,
        parse=member_row,
        apply=apply,
        describe=describe,
    )


def purchase_row(loyalty: Loyalty, raw: dict[str, str]) -> ExternalPurchase:
    """One purchase row as a command; Rejected names what is wrong."""
    program = loyalty.program.program
    member, receipt = _text(raw, "member"), _text(raw, "receipt")
    currency = _text(raw, "currency") or program.currency
    if currency.upper() != program.currency:
        raise Rejected(f"currency {currency} is not the program's {program.currency}")
    return ExternalPurchase(
        member_ref=_required(member, "member"),
        receipt=_receipt(receipt),
        amount_minor=_amount(loyalty, _text(raw, "amount")),
        occurred_at=_moment(_text(raw, "occurred_at")),
        store=_name(raw, "store"),
        channel=_name(raw, "channel"),
        quiet=True,  # no "you earned" messages for last year's purchases
    )


def member_row(raw: dict[str, str]) -> ImportedCustomer:
    """One customer row as a command; Rejected names what is wrong."""
    points_text = _text(raw, "points") or "0"
    if not points_text.isdigit() or int(points_text) > LARGEST_OPENING:
        raise Rejected(f"points {points_text!r} is not a whole number up to {LARGEST_OPENING}")
    birthday_text = _text(raw, "birthday")
    try:
        birthday = date.fromisoformat(birthday_text) if birthday_text else None
    except ValueError:
        raise Rejected(f"birthday {birthday_text!r} is not a date like 1990-04-23") from None
    return ImportedCustomer(
        customer_id=_required(_text(raw, "customer_id"), "customer_id"),
        name=_required(_text(raw, "name"), "name"),
        telegram_username=_text(raw, "telegram_username").removeprefix("@") or None,
        birthday=birthday,
        points=int(points_text),
    )


def describe(error: errors.DomainError) -> str:
    """A refused row's reason, for the side file."""
    params = error.params
    match error:
        case errors.MemberNotFound():
            return f"unknown member {params.get('ref')}"
        case errors.IdempotencyConflict():
            return f"receipt {params.get('ref')} was recorded before with other data"
        case errors.InvalidAmount():
            return "the amount is over the program's maximum"
        case errors.PurchaseInFuture():
            return "dated in the future"
    return error.code.replace("_", " ")


def _text(raw: dict[str, str], column: str) -> str:
    return (raw.get(column) or "").strip()


def _receipt(text: str) -> str:
    try:
        return normalize_receipt(_required(text, "receipt"))
    except errors.InvalidReceipt:
        raise Rejected(f"receipt {text!r}: letters, digits, spaces and - _ . / # : only") from None


def _name(raw: dict[str, str], column: str) -> str | None:
    """A store or channel name, as the purchase API accepts them (main-st, web, app)."""
    value = _text(raw, column)
    if value and not NAME.fullmatch(value):
        raise Rejected(f"{column} {value!r} is not a lower-case name like main-st")
    return value or None


def _required(value: str, column: str) -> str:
    if not value:
        raise Rejected(f"{column} is empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Rejected(f"{column} contains control characters")
    return value


def _amount(loyalty: Loyalty, text: str) -> int:
    program = loyalty.program
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise Rejected(f"amount {text!r} is not a decimal number") from None
    if not amount.is_finite() or abs(amount) >= LARGEST_AMOUNT:
        raise Rejected(f"amount {text!r} is not a possible amount")
    try:
        minor = program.to_minor(amount)
    except ValueError:
        decimals = program.program.currency_decimals
        raise Rejected(f"amount {text!r} has more than {decimals} decimals") from None
    if minor <= 0:
        raise Rejected(f"amount {text!r} must be more than zero")
    return minor


def _moment(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(f"occurred_at {text!r} is not ISO 8601") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Rejected(f"occurred_at {text!r} needs a UTC offset")
    return moment
