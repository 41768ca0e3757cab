"""Wrong guesses at codes people could enumerate, counted per person and limited.

Anything a person can guess at (card tokens, member, voucher, link and store codes) goes
through `guarded` with its own `AttemptLimit`: a wrong guess counts, a right one does not,
and past the limit every guess is refused until the window that started with the first
wrong one has passed. The count is one row per (kind, subject) updated with one conditional
upsert, so several workers on one PostgreSQL share it, and the row lock it takes keeps
concurrent guesses from slipping past the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from core import errors
from core.ports import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class AttemptLimit:
    """How many wrong guesses at one kind of code a person may make in a window."""

    kind: str
    wrong: int
    window: timedelta


CARD_TOKENS = AttemptLimit(kind="card", wrong=10, window=timedelta(minutes=10))
MEMBER_CODES = AttemptLimit(kind="member_code", wrong=20, window=timedelta(minutes=10))
VOUCHER_CODES = AttemptLimit(kind="voucher", wrong=10, window=timedelta(minutes=10))
LINK_CODES = AttemptLimit(kind="link_code", wrong=5, window=timedelta(minutes=10))
STORE_CODES = AttemptLimit(kind="store_code", wrong=10, window=timedelta(minutes=10))


def guarded(
    uow: UnitOfWork,
    limit: AttemptLimit,
    subject: str,
    now: datetime,
    guess: Callable[[], T | None],
) -> T | None:
    """Run `guess` for `subject` (a member or chat identity) unless their wrong guesses are
    used up; its None result counts as a wrong guess, anything else does not.

    Must run in its own transaction: the count has to commit even when the caller then
    refuses the request (TooManyAttempts itself rolls back an increment past the limit).
    """
    wrong, since = uow.attempts.spend(limit.kind, subject, now, now - limit.window)
    if wrong > limit.wrong:
        raise errors.TooManyAttempts(
            limit=limit.wrong,
            minutes=int(limit.window.total_seconds() // 60),
            until=since + limit.window,
        )
    found = guess()
    if found is not None:
        uow.attempts.refund(limit.kind, subject)
    return found
