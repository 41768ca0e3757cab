"""`core.nudges.NudgeStore` on SQL: one set-based query per nudge kind selecting the members due,
each already without members who opted out of the kind or reached the weekly cap, and the
planned nudges written in bulk (a nudge row and an outbox row per dedupe key, once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TypeVar

from core.nudges import Due, Planned, Window
from storage.database import SqlDatabase
from storage.outbox_codec import dump_buttons, dump_params
from storage.predicates import AVAILABLE_OPEN, VOUCHER_UNUSED
from storage.sql import Query, Row, Sql, flavor_for, in_list, insert_rows, unnest_rows

T = TypeVar("T")

# Every kind's inner query yields (member_id, subject, ref, amount, at); the outer part adds what
# decides whether and when the member may get it: their zone and quiet hours (the local-time
# checks are done on these few rows in Python), their nudges in the last day and week.
_OUTER = (
    "SELECT d.member_id, d.subject, d.ref, d.amount, d.at, m.time_zone,"
    " (SELECT MIN(i.time_zone) FROM identity i WHERE i.member_id = d.member_id),"
    " m.quiet_start, m.quiet_end, COALESCE(c.last_day, 0), COALESCE(c.last_week, 0)"
    " FROM ({inner}) d JOIN member m ON m.id = d.member_id"
    # The last week's nudges, counted once per member and hash-joined: no lookup per row.
    " LEFT JOIN (SELECT member_id, SUM(CASE WHEN planned_at > :day_ago THEN 1 ELSE 0 END)"
    " AS last_day, COUNT(*) AS last_week FROM nudge WHERE planned_at > :week_ago"
    " GROUP BY member_id) c ON c.member_id = d.member_id"
    " WHERE m.merged_into IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM opt_out o WHERE o.member_id = d.member_id"
    " AND o.category = :category)"
    " AND COALESCE(c.last_week, 0) < :per_week"
    " ORDER BY d.member_id, d.ref"
)


def _kind(inner: str, postgresql: str | None = None, **fragments: str) -> Query:
    pg = None if postgresql is None else _OUTER.format(inner=postgresql)
    return Query(_OUTER.format(inner=inner), postgresql=pg, **fragments)


# Members who earned in the last week and whose balance now lies in a reward's approach band
# (`{bands}`: one range per reward); the latest open lot tells one approach from the next.
# Lots are read along the partial index on open lots (its predicate repeated here).
RECENT = timedelta(days=7)
_NEAR_REWARD = (
    "SELECT a.member_id AS member_id, '' AS subject,"
    " CAST((SELECT MAX(l.id) FROM lot l WHERE l.member_id = a.member_id"
    " AND l.state = 'available' AND l.remaining > 0) AS TEXT) AS ref,"
    " a.balance AS amount, NULL AS at FROM account a"
    " WHERE a.purpose = 'available' AND a.member_id IS NOT NULL AND ({bands})"
    " AND EXISTS (SELECT 1 FROM lot r WHERE r.member_id = a.member_id"
    " AND r.state = 'available' AND r.remaining > 0 AND r.earned_at > :recent)"
)


@cache
def near_reward_query(bands: int) -> Query:
    """The near-reward query for `bands` balance ranges (:lo0/:hi0, :lo1/:hi1, ...)."""
    ranges = " OR ".join(f"a.balance BETWEEN :lo{n} AND :hi{n}" for n in range(bands))
    return _kind(_NEAR_REWARD, bands=ranges)


# Along the partial index on open lots' expiry; the first of them names the nudge.
POINTS_EXPIRING = _kind(
    "SELECT member_id, '' AS subject, CAST(MIN(id) AS TEXT) AS ref, SUM(remaining) AS amount,"
    " MIN(expires_at) AS at FROM lot WHERE {available} AND expires_at > :now"
    " AND expires_at <= :until GROUP BY member_id",
    available=AVAILABLE_OPEN,
)
VOUCHER_EXPIRING = _kind(
    "SELECT member_id, reward_id AS subject, voucher AS ref, 0 AS amount, valid_until AS at"
    " FROM redemption WHERE {unused} AND valid_until > :now"
    " AND valid_until <= :until",
    unused=VOUCHER_UNUSED,
)
STREAK = _kind(
    "SELECT member_id, challenge_id AS subject, period AS ref, streak AS amount,"
    " streak_ends_at AS at FROM challenge_progress WHERE streak_ends_at > :now"
    " AND streak_ends_at <= :until AND streak > 0"
)
CHALLENGE_ENDING = _kind(
    "SELECT member_id, challenge_id AS subject, period AS ref, target - value AS amount,"
    " window_end AS at FROM challenge_progress WHERE completed_at IS NULL"
    " AND window_end > :now AND window_end <= :until"
)
# Members whose last purchase (or, never buying, their joining) is `:before` or earlier: inactive
# for N days or more, however long ago they became so (the operator turned win-backs on today,
# the scheduler was down a week, the cap held them back). That moment starts the spell and names
# it (the dedupe key), so a member who comes back and drifts off again is nudged again, once.
# Spells that had their win-back (one planned since the spell began) are left out here: the
# rows stay those still owed one, however long ago the members left. On PostgreSQL the members,
# their last purchases and their win-backs are read in member order and merged (the win-backs
# along ix_nudge_winback): no hashing of a million keys.
_INACTIVE = (
    "SELECT m.id AS member_id, '' AS subject,"
    " CAST(COALESCE(l.last_at, m.created_at) AS TEXT) AS ref, 0 AS amount, NULL AS at"
    " FROM member m LEFT JOIN (SELECT member_id, MAX(occurred_at) AS last_at FROM purchase"
    " GROUP BY member_id) l ON l.member_id = m.id"
    " WHERE m.merged_into IS NULL AND COALESCE(l.last_at, m.created_at) <= :before"
    " AND NOT EXISTS (SELECT 1 FROM nudge n WHERE n.member_id = m.id AND n.kind = 'winback'"
    " AND n.planned_at > COALESCE(l.last_at, m.created_at))"
)
WINBACK = _kind(_INACTIVE)
_TIER = (
    "SELECT t.member_id AS member_id, t.tier_id AS subject, CAST(t.until AS TEXT) AS ref,"
    " COALESCE((SELECT SUM(d2.{measure}) FROM purchase_day d2 WHERE d2.member_id = t.member_id"
    " AND d2.day >= {day}), 0) AS amount, t.until AS at FROM member_tier t"
    " WHERE t.until IS NOT NULL AND t.until > :now AND t.until <= :until"
)
TIER_KEEP = {
    measure: _kind(
        _TIER.format(measure=column, day="date(t.counts_from)"),
        postgresql=_TIER.format(
            measure=column, day="CAST(t.counts_from AT TIME ZONE 'UTC' AS DATE)"
        ),
    )
    for measure, column in (("spend", "spend_minor"), ("points", "points"))
}
_BIRTHDAY = (
    "SELECT id AS member_id, '' AS subject, CAST(birthday AS TEXT) AS ref, 0 AS amount,"
    " NULL AS at FROM member WHERE birthday IS NOT NULL"
    " AND {month_day} IN (:d1, :d2, :d3, :d4)"
)
BIRTHDAY = _kind(
    _BIRTHDAY.format(month_day="substr(birthday, 6, 5)"),
    postgresql=_BIRTHDAY.format(month_day="to_char(birthday, 'MM-DD')"),
)

_NUDGE_HEAD = "INSERT INTO nudge (dedupe_key, member_id, kind, planned_at)"
_NUDGE_TYPES = ("text", "int", "text", "timestamptz")
_NUDGE_TAIL = " ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
_OUTBOX_HEAD = (
    "INSERT INTO outbox (member_id, message_key, params, buttons, category, dedupe_key, status,"
    " attempts, not_before, created_at)"
)
_OUTBOX_TYPES = ("int", "text", "text", "text", "text", "text", "text", "int", "timestamptz",
                 "timestamptz")  # fmt: skip
_OUTBOX_TAIL = " ON CONFLICT (dedupe_key) DO NOTHING"
_PLANNED_HEAD = "SELECT dedupe_key FROM nudge WHERE dedupe_key IN"
_PLANNED_PG = "SELECT dedupe_key FROM nudge WHERE dedupe_key = ANY(%b::text[])"
# Rows per statement: PostgreSQL takes them as arrays; SQLite's VALUES lists stay under its
# limit on parameters.
_CHUNKS = {"postgresql": 5000, "sqlite": 500}


class SqlNudgeStore:
    """The nudge planner's reads and writes, each its own transaction."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._flavor = flavor_for(database.engine.dialect.name)
        self._chunk = _CHUNKS[self._flavor.name]

    def near_reward(self, window: Window, bands: Sequence[tuple[int, int]]) -> list[Due]:
        """Members who earned in the last week with a balance in one of the bands."""
        params: dict[str, object] = {"recent": self._flavor.bind_time(window.now - RECENT)}
        for n, (low, high) in enumerate(bands):
            params[f"lo{n}"], params[f"hi{n}"] = low, high
        return self._due(near_reward_query(len(bands)), window, params)

    def points_expiring(self, window: Window, until: datetime) -> list[Due]:
        """Members with open lots expiring before `until`: the sum, the first expiry."""
        return self._due(POINTS_EXPIRING, window, self._until(window, until))

    def vouchers_expiring(self, window: Window, until: datetime) -> list[Due]:
        """Unused vouchers whose validity ends before `until`."""
        return self._due(VOUCHER_EXPIRING, window, self._until(window, until))

    def streaks_ending(self, window: Window, until: datetime) -> list[Due]:
        """Streaks that end before `until` unless the member visits."""
        return self._due(STREAK, window, self._until(window, until))

    def challenges_ending(self, window: Window, until: datetime) -> list[Due]:
        """Unfinished challenge progress whose window closes before `until`."""
        return self._due(CHALLENGE_ENDING, window, self._until(window, until))

    def inactive(self, window: Window, before: datetime) -> list[Due]:
        """Members whose last purchase (or joining) was `before` or earlier, without a win-back
        planned for that spell yet."""
        return self._due(WINBACK, window, {"before": self._flavor.bind_time(before)})

    def tiers_closing(self, window: Window, until: datetime, measure: str) -> list[Due]:
        """Tier windows closing before `until`, with the spend (or points) counted so far."""
        return self._due(TIER_KEEP[measure], window, self._until(window, until))

    def birthdays(self, window: Window, month_days: Sequence[str]) -> list[Due]:
        """Members whose birthday (MM-DD) is one of the days around today: three, and 02-29
        when one of them is 28 Feb of a year without it (the list is padded to four)."""
        days = [*month_days, *[month_days[-1]] * (4 - len(month_days))]
        return self._due(BIRTHDAY, window, {f"d{n}": md for n, md in enumerate(days, 1)})

    def planned_before(self, keys: Sequence[str]) -> set[str]:
        """Which of these dedupe keys were planned already."""
        chunk_size = self._chunk

        def work(sql: Sql) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(keys), chunk_size):
                chunk = list(keys[start : start + chunk_size])
                if sql.flavor.name == "postgresql":  # one array: a short, constant query text
                    rows = sql.all_text(_PLANNED_PG, [chunk])
                else:
                    statement = in_list(sql.flavor, _PLANNED_HEAD, len(chunk))
                    rows = sql.all_text(statement, chunk)
                found.update(str(row[0]) for row in rows)
            return found

        return self._database.run_sql(work, write=False) if keys else set()

    def queue(self, planned: Sequence[Planned], now: datetime) -> int:
        """Record and queue the nudges, each once per dedupe key; how many were new."""
        added = 0
        for start in range(0, len(planned), self._chunk):
            chunk = planned[start : start + self._chunk]
            added += self._database.run_sql(partial(self._queue, chunk=chunk, now=now))
        return added

    def _queue(self, sql: Sql, *, chunk: Sequence[Planned], now: datetime) -> int:
        flavor = sql.flavor
        at = flavor.bind_time(now)
        nudges: list[list[object]] = [[i.dedupe_key for i in chunk], [i.member_id for i in chunk],
                  [i.kind for i in chunk], [at] * len(chunk)]  # fmt: skip
        new = self._insert(sql, _NUDGE_HEAD, _NUDGE_TYPES, nudges, _NUDGE_TAIL)
        fresh = {str(row[0]) for row in new}
        messages = [item for item in chunk if item.dedupe_key in fresh]
        if not messages:
            return 0
        columns: list[list[object]] = [[] for _ in _OUTBOX_TYPES]
        for item in messages:
            message = item.message
            row = (
                item.member_id,
                message.key,
                dump_params(message.params),
                dump_buttons(message.buttons) if message.buttons else None,
                message.category,
                f"nudge:{item.dedupe_key}",
                "queued",
                0,
                flavor.bind_time(message.not_before or now),
                at,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        self._insert(sql, _OUTBOX_HEAD, _OUTBOX_TYPES, columns, _OUTBOX_TAIL)
        return len(messages)

    def _insert(
        self, sql: Sql, head: str, types: tuple[str, ...], columns: list[list[object]], tail: str
    ) -> list[Row]:
        """Many rows in one statement: arrays on PostgreSQL, a VALUES list on SQLite; the
        rows RETURNING gives (none without it)."""
        if sql.flavor.name == "postgresql":
            statement, params = f"{head} {unnest_rows(types)}{tail}", columns
        else:
            rows = len(columns[0])
            params = [value for row in zip(*columns, strict=True) for value in row]
            statement = insert_rows(sql.flavor, head, rows, len(types)) + tail
        if "RETURNING" in tail:
            return sql.all_text(statement, params)
        sql.run_text(statement, params)
        return []

    def _until(self, window: Window, until: datetime) -> dict[str, object]:
        bind = self._flavor.bind_time
        return {"now": bind(window.now), "until": bind(until)}

    def _due(self, query: Query, window: Window, extra: dict[str, object]) -> list[Due]:
        bind = self._flavor.bind_time
        params = {
            **extra,
            "day_ago": bind(window.now - timedelta(days=1)),
            "week_ago": bind(window.now - timedelta(days=7)),
            "per_week": window.per_week,
            "category": window.category,
        }
        rows = self._run(lambda sql: sql.all(query, params))
        return [self._row(row) for row in rows]

    def _row(self, row: Row) -> Due:
        quiet = None if row[7] is None or row[8] is None else (int(row[7]), int(row[8]))
        return Due(
            member_id=int(row[0]),
            subject=str(row[1] or ""),
            ref=str(row[2] or ""),
            amount=int(row[3] or 0),
            at=self._flavor.read_time(row[4]) if row[4] is not None else None,
            time_zone=row[5] or row[6],
            quiet=quiet,
            last_day=int(row[9]),
            last_week=int(row[10]),
        )

    def _run(self, work: Callable[[Sql], T]) -> T:
        return self._database.run_sql(work, write=False)
