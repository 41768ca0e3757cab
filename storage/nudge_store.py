"""`core.nudges.NudgeStore` on SQL: one set-based query per nudge kind selecting the members due,
each already without members who opted out of the kind (with their nudges of the last day and
week, for the planner's cap), and the planned nudges written in bulk: one outbox row per dedupe
key, once. That row is the nudge's only record: its dedupe key ("nudge:" + the nudge's) and its
category (the kind's) are what the cap counts and the win-back query reads, along two partial
indexes on the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any, TypeVar

from core.nudges import Due, NudgeBatch, Window
from storage.database import SqlDatabase
from storage.outbox_codec import dump_buttons, dump_params
from storage.predicates import (
    AVAILABLE_OPEN,
    NUDGE_KEY,
    NUDGE_ROWS,
    VOUCHER_UNUSED,
    WINBACK_ROWS,
)
from storage.sql import Query, Row, Sql, flavor_for, in_list, insert_rows

T = TypeVar("T")

# Every kind's inner query yields (member_id, subject, ref, amount, at); the outer part adds what
# decides whether and when the member may get it: their zone and quiet hours (the local-time
# checks are done on these rows in Python), their nudges in the last day and week. Those are
# counted per selected member along ix_outbox_nudge (a few index entries each): the cost follows
# the rows selected, not the week's nudges (a running program plans a day's worth every day,
# and each kind's run sees what the kinds before it planned).
_OUTER = (
    "SELECT x.* FROM (SELECT d.member_id, d.subject, d.ref, d.amount, d.at, COALESCE(m.time_zone,"
    " (SELECT MIN(i.time_zone) FROM identity i WHERE i.member_id = d.member_id"
    " AND i.time_zone IS NOT NULL)) AS time_zone,"
    " m.quiet_start, m.quiet_end,"
    " (SELECT COUNT(*) FROM outbox c WHERE c.member_id = d.member_id AND {nudges}"
    " AND c.created_at > :day_ago) AS last_day,"
    " (SELECT COUNT(*) FROM outbox c WHERE c.member_id = d.member_id AND {nudges}"
    " AND c.created_at > :week_ago) AS last_week"
    " FROM ({inner}) d JOIN member m ON m.id = d.member_id"
    " WHERE m.merged_into IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM opt_out o WHERE o.member_id = d.member_id"
    " AND o.category = :category)) x"
    " ORDER BY x.member_id, x.ref"
)


def _flat(rows: list[list[Any]]) -> list[Any]:
    return [value for row in rows for value in row]


def _kind(inner: str, postgresql: str | None = None, **fragments: str) -> Query:
    outer = partial(_OUTER.format, nudges="{nudges}")  # the partial index's predicate, verbatim
    pg = None if postgresql is None else outer(inner=postgresql)
    return Query(outer(inner=inner), postgresql=pg, nudges=NUDGE_ROWS, **fragments)


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
# along ix_outbox_winback): no hashing of a million keys.
_INACTIVE = (
    "SELECT m.id AS member_id, '' AS subject,"
    " CAST(COALESCE(l.last_at, m.created_at) AS TEXT) AS ref, 0 AS amount, NULL AS at"
    " FROM member m LEFT JOIN (SELECT member_id, MAX(occurred_at) AS last_at FROM purchase"
    " GROUP BY member_id) l ON l.member_id = m.id"
    " WHERE m.merged_into IS NULL AND COALESCE(l.last_at, m.created_at) <= :before"
    " AND NOT EXISTS (SELECT 1 FROM outbox n WHERE n.member_id = m.id AND {winbacks}"
    " AND n.created_at > COALESCE(l.last_at, m.created_at))"
)
WINBACK = _kind(_INACTIVE, winbacks=WINBACK_ROWS)
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

_OUTBOX_HEAD = (
    "INSERT INTO outbox (member_id, message_key, params, buttons, category, dedupe_key, status,"
    " attempts, not_before, created_at)"
)
_OUTBOX_TAIL = " ON CONFLICT (dedupe_key) DO NOTHING"
# PostgreSQL: a chunk of one kind's nudges in one statement, from one array per column that
# differs per nudge (the category and times are the chunk's).
_QUEUE_PG = (
    "INSERT INTO outbox (member_id, message_key, params, buttons, category, dedupe_key, status,"
    " attempts, not_before, created_at) SELECT r.member_id, r.message_key, r.params, r.buttons,"
    " %s, %s || r.dedupe_key, 'queued', 0, %s, %s"
    " FROM unnest(%b::int[], %b::text[], %b::text[], %b::text[], %b::text[])"
    " AS r(member_id, dedupe_key, message_key, params, buttons) ON CONFLICT (dedupe_key) DO NOTHING"
)
# The counts per selected row lift PostgreSQL's cost estimates past `jit_above_cost`, and compiling
# took longer (0.8 s at a million members) than these index-driven queries take to run.
_NO_JIT = "SET LOCAL jit = off"
_PLANNED_HEAD = "SELECT dedupe_key FROM outbox WHERE dedupe_key IN"
# One array of every key: a short, constant query text, one round trip.
_PLANNED_PG = "SELECT dedupe_key FROM outbox WHERE dedupe_key = ANY(%b::text[])"
# Rows per statement: PostgreSQL takes them as arrays; SQLite's VALUES lists stay under its
# limit on parameters.
_CHUNKS = {"postgresql": 10_000, "sqlite": 500}


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
        keys = [f"{NUDGE_KEY}{key}" for key in keys]  # as the outbox has them
        own = len(NUDGE_KEY)  # where the nudge's own key starts in the outbox's

        def work(sql: Sql) -> set[str]:
            if sql.flavor.name == "postgresql":
                return {str(row[0])[own:] for row in sql.all_text(_PLANNED_PG, [list(keys)])}
            found: set[str] = set()
            for start in range(0, len(keys), chunk_size):
                chunk = list(keys[start : start + chunk_size])
                statement = in_list(sql.flavor, _PLANNED_HEAD, len(chunk))
                found.update(str(row[0])[own:] for row in sql.all_text(statement, chunk))
            return found

        return self._database.run_sql(work, write=False) if keys else set()

    def queue(self, batch: NudgeBatch, now: datetime) -> int:
        """Queue one kind's nudges, each once per dedupe key; how many were new."""
        buttons = {variant: dump_buttons(rows) for variant, rows in batch.button_rows.items()}
        added = 0
        for start in range(0, len(batch), self._chunk):
            end = start + self._chunk
            columns: list[list[Any]] = [
                batch.member_ids[start:end],
                batch.dedupe_keys[start:end],
                batch.message_keys[start:end],
                [dump_params(params) for params in batch.params[start:end]],
                [buttons[variant] for variant in batch.buttons[start:end]],
            ]
            work = partial(self._queue, columns=columns, batch=batch, now=now)
            added += self._database.run_sql(work)
        return added

    def _queue(
        self, sql: Sql, *, columns: list[list[Any]], batch: NudgeBatch, now: datetime
    ) -> int:
        at = sql.flavor.bind_time(now)
        if sql.flavor.name == "postgresql":
            return sql.run_text(_QUEUE_PG, [batch.category, NUDGE_KEY, at, at, *columns])
        rows = [
            [member_id, message_key, text, button, batch.category, NUDGE_KEY + key, "queued", 0,
             at, at]
            for member_id, key, message_key, text, button in zip(*columns, strict=True)
        ]  # fmt: skip
        statement = insert_rows(sql.flavor, _OUTBOX_HEAD, len(rows), 10) + _OUTBOX_TAIL
        return sql.run_text(statement, _flat(rows))

    def _until(self, window: Window, until: datetime) -> dict[str, object]:
        bind = self._flavor.bind_time
        return {"now": bind(window.now), "until": bind(until)}

    def _due(self, query: Query, window: Window, extra: dict[str, object]) -> list[Due]:
        bind = self._flavor.bind_time
        params = {
            **extra,
            "day_ago": bind(window.now - timedelta(days=1)),
            "week_ago": bind(window.now - timedelta(days=7)),
            "category": window.category,
        }

        def select(sql: Sql) -> list[Row]:
            if sql.flavor.name == "postgresql":
                sql.run_text(_NO_JIT)
            return sql.all(query, params)

        return self._rows(self._run(select))

    def _rows(self, rows: list[Row]) -> list[Due]:
        """The rows as `Due`s; each distinct time read once (many rows share an expiry)."""
        read = self._flavor.read_time
        times: dict[Any, datetime] = {}
        found: list[Due] = []
        for member_id, subject, ref, amount, at, zone, start, end, day, week in rows:
            moment = None
            if at is not None:
                moment = times.get(at)
                if moment is None:
                    moment = times[at] = read(at)
            quiet = None if start is None or end is None else (int(start), int(end))
            found.append(
                Due(int(member_id), subject or "", ref or "", int(amount or 0), moment, zone,
                    quiet, int(day), int(week))
            )  # fmt: skip
        return found

    def _run(self, work: Callable[[Sql], T]) -> T:
        return self._database.run_sql(work, write=False)
