"""Challenges: counted facts, progress per member, challenge and period, joins and badges.

The hot path (a purchase counted towards every challenge a member is in) costs one insert of
the fact, one read of the stored progress, one grouped read of the window's facts and one
multi-row upsert of the progress that changed, however many challenges there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache

from core.gamification_model import (
    BadgeCount,
    ChallengeEnding,
    ChallengeState,
    ProgressRecord,
    StreakAtRisk,
)
from core.progress import Fact, FactKind, FactRow, ItemFact
from storage.sql import Flavor, Query, Row, Sql, insert_rows

_ZONES = Query(
    "SELECT m.time_zone, i.time_zone FROM member m"
    " LEFT JOIN identity i ON i.member_id = m.id WHERE m.id = :member_id"
    " ORDER BY i.platform, i.external_id"
)
_ADD_FACT = Query(
    "INSERT INTO challenge_fact (member_id, key, ref, kind, day, store, action, amount_minor,"
    " occurred_at) VALUES (:member_id, :key, :ref, :kind, :day, :store, :action,"
    " :amount_minor, :occurred_at) ON CONFLICT (member_id, key) DO NOTHING"
)
_FACT = Query(
    "SELECT key, ref, kind, day, store, action, amount_minor FROM challenge_fact"
    " WHERE member_id = :member_id AND key = :key"
)
# A purchase and its refunds share `ref` and the purchase's day: one row per counted thing.
_FACTS = Query(
    "SELECT ref, kind, MIN(day), MIN(store), MIN(action), SUM(amount_minor), MAX(amount_minor)"
    " FROM challenge_fact WHERE member_id = :member_id AND day >= :first AND day <= :last"
    " GROUP BY ref, kind"
)
_ITEMS = Query(
    "SELECT ref, line, day, sku, category, amount_minor FROM challenge_item"
    " WHERE member_id = :member_id AND day >= :first AND day <= :last"
)
_PROGRESS_COLUMNS = (
    "challenge_id, period, value, target, window_end, last_day, completed_at, reward_journal_id,"
    " reward_lot_id, reward_points, rewards, streak, streak_last_day, streak_ends_at"
)
_SAVE_HEAD = f"INSERT INTO challenge_progress (member_id, {_PROGRESS_COLUMNS}, updated_at)"
_SAVE_TAIL = (
    " ON CONFLICT (member_id, challenge_id, period) DO UPDATE SET value = excluded.value,"
    " target = excluded.target, window_end = excluded.window_end,"
    " completed_at = excluded.completed_at, reward_journal_id = excluded.reward_journal_id,"
    " reward_lot_id = excluded.reward_lot_id, reward_points = excluded.reward_points,"
    " rewards = excluded.rewards, streak = excluded.streak,"
    " streak_last_day = excluded.streak_last_day, streak_ends_at = excluded.streak_ends_at,"
    " updated_at = excluded.updated_at"
)
_JOIN = Query(
    "INSERT INTO challenge_member (member_id, challenge_id, joined_at)"
    " VALUES (:member_id, :challenge_id, :joined_at) ON CONFLICT (member_id, challenge_id)"
    " DO NOTHING"
)
_ADD_BADGE = Query(
    "INSERT INTO badge (member_id, challenge_id, period, badge_id, earned_at)"
    " VALUES (:member_id, :challenge_id, :period, :badge_id, :earned_at)"
    " ON CONFLICT (member_id, challenge_id, period) DO UPDATE SET badge_id = excluded.badge_id,"
    " earned_at = excluded.earned_at"
)
_REMOVE_BADGE = Query(
    "DELETE FROM badge WHERE member_id = :member_id AND challenge_id = :challenge_id"
    " AND period = :period"
)
_BADGES = Query(
    "SELECT badge_id, COUNT(*), MAX(earned_at) FROM badge WHERE member_id = :member_id"
    " GROUP BY badge_id ORDER BY MAX(earned_at) DESC, badge_id"
)
# For nudge planners: set-based, along the partial indexes on the two instants.
STREAKS_AT_RISK = Query(
    "SELECT member_id, challenge_id, period, streak, streak_ends_at FROM challenge_progress"
    " WHERE streak_ends_at > :ends_from AND streak_ends_at <= :ends_until AND streak > 0"
    " ORDER BY streak_ends_at, member_id"
)
CHALLENGES_ENDING = Query(
    "SELECT member_id, challenge_id, period, value, target, window_end FROM challenge_progress"
    " WHERE completed_at IS NULL AND window_end > :ends_from AND window_end <= :ends_until"
    " ORDER BY window_end, member_id"
)
# A broadcast segment `challenge:<id>`: who joined it, or has progress in an open period.
PARTICIPANTS = Query(
    "SELECT member_id FROM challenge_member WHERE challenge_id = :challenge_id"
    " UNION SELECT member_id FROM challenge_progress WHERE challenge_id = :challenge_id"
    " AND window_end > :now"
)


@cache
def _state_sql(flavor: Flavor, periods: int, joins: bool, zones: bool) -> str:
    """Stored progress in some periods, and (with `joins`) the opt-in joins and (with `zones`)
    the member's time zones, in one read: every branch has the progress columns."""
    mark = flavor.placeholder
    parts = []
    if periods:
        parts.append(
            f"SELECT 'p', {_PROGRESS_COLUMNS} FROM challenge_progress"  # noqa: S608 (only placeholders)
            f" WHERE member_id = {mark} AND period IN ({', '.join([mark] * periods)})"
        )
    if joins:  # the same columns, the join time where a progress row has its window end
        parts.append(
            "SELECT 'j', challenge_id, NULL, 0, 0, joined_at, NULL, NULL, NULL, NULL, 0, 0, 0,"  # noqa: S608
            f" NULL, NULL FROM challenge_member WHERE member_id = {mark}"
        )
    if zones:  # the zone in the first text column, an identity's sort key in the second
        parts.append(
            "SELECT 'm', time_zone, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL"  # noqa: S608
            f" FROM member WHERE id = {mark}"
        )
        parts.append(
            "SELECT 'i', time_zone, platform || ' ' || external_id, 0, 0, NULL, NULL, NULL, NULL,"  # noqa: S608
            f" NULL, 0, 0, 0, NULL, NULL FROM identity WHERE member_id = {mark}"
            " AND time_zone IS NOT NULL"
        )
    return " UNION ALL ".join(parts)


@cache
def _save_sql(flavor: Flavor, rows: int) -> str:
    return insert_rows(flavor, _SAVE_HEAD, rows, 16) + _SAVE_TAIL


_PROGRESS_TYPES = (
    "integer", "text", "text", "bigint", "bigint", "timestamptz", "date", "timestamptz",
    "integer", "integer", "integer", "integer", "integer", "date", "timestamptz", "timestamptz",
)  # fmt: skip
# PostgreSQL: the fact and the progress it moves in one statement. The progress rows are
# written only if the fact was new (a repeated event changes nothing): the insert's CTE
# returns a row only then. SQLite has no data-modifying CTEs and no round trips to save.
_FACT_AND_PROGRESS_HEAD = (
    "WITH fact AS (INSERT INTO challenge_fact (member_id, key, ref, kind, day, store, action,"
    " amount_minor, occurred_at) VALUES (%(member_id)s, %(key)s, %(ref)s, %(kind)s, %(day)s,"
    " %(store)s, %(action)s, %(amount_minor)s, %(occurred_at)s)"
    " ON CONFLICT (member_id, key) DO NOTHING RETURNING member_id) "
)


@cache
def _fact_and_progress_sql(rows: int) -> str:
    """The PostgreSQL statement for a fact and `rows` progress rows (named parameters)."""
    values = ", ".join(
        "(" + ", ".join(f"%(p{r}_{c})s::{kind}" for c, kind in enumerate(_PROGRESS_TYPES)) + ")"
        for r in range(rows)
    )
    return (
        f"{_FACT_AND_PROGRESS_HEAD}{_SAVE_HEAD} SELECT v.* FROM (VALUES {values}) AS v"  # noqa: S608
        f" WHERE EXISTS (SELECT 1 FROM fact){_SAVE_TAIL}"
    )


@cache
def _items_sql(flavor: Flavor, rows: int) -> str:
    head = "INSERT INTO challenge_item (member_id, ref, line, day, sku, category, amount_minor)"
    return insert_rows(flavor, head, rows, 7) + " ON CONFLICT (member_id, ref, line) DO NOTHING"


class SqlChallengeRepository:
    """`core.ports.ChallengeRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def time_zones(self, member_id: int) -> tuple[str | None, list[str]]:
        """The member's chosen zone and their identities' zones."""
        rows = self._sql.all(_ZONES, {"member_id": member_id})
        chosen = rows[0][0] if rows else None
        return chosen, [row[1] for row in rows if row[1]]

    def add_fact(
        self,
        member_id: int,
        fact: FactRow,
        occurred_at: datetime,
        progress: Sequence[ProgressRecord] = (),
    ) -> bool:
        """Keep a fact once per key; with `progress`, save those rows if it was new."""
        params = self._fact_params(member_id, fact, occurred_at)
        if progress and self._sql.flavor.name == "postgresql":
            values = self._progress_values(member_id, progress, occurred_at)
            params |= {f"p{n // 16}_{n % 16}": value for n, value in enumerate(values)}
            return self._sql.run_text(_fact_and_progress_sql(len(progress)), params) > 0
        if self._sql.run(_ADD_FACT, params) != 1:
            return False
        self.save_progress(member_id, progress, occurred_at)
        return True

    def _fact_params(
        self, member_id: int, fact: FactRow, occurred_at: datetime
    ) -> dict[str, object]:
        flavor = self._sql.flavor
        return {
            "member_id": member_id,
            "key": fact.key,
            "ref": fact.ref,
            "kind": fact.kind.value,
            "day": flavor.bind_day(fact.day),
            "store": fact.store,
            "action": fact.action,
            "amount_minor": fact.amount_minor,
            "occurred_at": flavor.bind_time(occurred_at),
        }

    def add_items(self, member_id: int, items: Sequence[ItemFact]) -> None:
        """Keep the lines of a purchase (in one statement)."""
        if not items:
            return
        bind_day = self._sql.flavor.bind_day
        values = [
            value
            for item in items
            for value in (
                member_id,
                item.ref,
                item.line,
                bind_day(item.day),
                item.sku,
                item.category,
                item.amount_minor,
            )
        ]
        self._sql.run_text(_items_sql(self._sql.flavor, len(items)), values)

    def fact(self, member_id: int, key: str) -> FactRow | None:
        """One kept fact by key."""
        row = self._sql.one(_FACT, {"member_id": member_id, "key": key})
        if row is None:
            return None
        return FactRow(
            key=row[0],
            ref=row[1],
            kind=FactKind(row[2]),
            day=self._sql.flavor.read_day(row[3]),
            store=row[4],
            action=row[5],
            amount_minor=int(row[6]),
        )

    def facts(self, member_id: int, first_day: date, last_day: date) -> list[Fact]:
        """The facts of a range of local days, a purchase net of its refunds."""
        flavor = self._sql.flavor
        return [
            Fact(
                ref=row[0],
                kind=FactKind(row[1]),
                day=flavor.read_day(row[2]),
                store=row[3],
                action=row[4],
                net_minor=int(row[5]),
                gross_minor=max(int(row[6]), 0),
            )
            for row in self._sql.all(_FACTS, self._days(member_id, first_day, last_day))
        ]

    def items(self, member_id: int, first_day: date, last_day: date) -> list[ItemFact]:
        """Purchase lines of a range of local days."""
        flavor = self._sql.flavor
        return [
            ItemFact(
                ref=row[0],
                line=int(row[1]),
                day=flavor.read_day(row[2]),
                sku=row[3],
                category=row[4],
                amount_minor=int(row[5]),
            )
            for row in self._sql.all(_ITEMS, self._days(member_id, first_day, last_day))
        ]

    def _days(self, member_id: int, first_day: date, last_day: date) -> dict[str, object]:
        """The parameters of a member's range of local days."""
        bind = self._sql.flavor.bind_day
        return {"member_id": member_id, "first": bind(first_day), "last": bind(last_day)}

    def state(
        self, member_id: int, periods: Sequence[str], joins: bool, zones: bool = False
    ) -> ChallengeState:
        """Progress in `periods`, with `joins` the opt-in challenges joined, with `zones` the
        member's time zones."""
        if not periods and not joins and not zones:
            return ChallengeState()
        flavor = self._sql.flavor
        params: list[object] = [member_id, *periods] if periods else []
        params += [member_id] * (joins + 2 * zones)
        sql = _state_sql(flavor, len(periods), joins, zones)
        progress: dict[tuple[str, str], ProgressRecord] = {}
        joined: dict[str, datetime] = {}
        chosen: str | None = None
        platform: list[tuple[str, str]] = []
        # The rows of one period share their window's end and last day: each parsed once.
        times: dict[object, datetime] = {}
        days: dict[object, date] = {}
        for row in self._sql.all_text(sql, params):
            if row[0] == "p":
                record = self._record(row[1:], times, days)
                progress[(record.challenge_id, record.period)] = record
            elif row[0] == "j":
                joined[row[1]] = flavor.read_time(row[5])
            elif row[0] == "m":
                chosen = row[1]
            else:
                platform.append((row[2], row[1]))
        return ChallengeState(
            progress=progress,
            joined=joined,
            time_zone=chosen,
            platform_zones=tuple(zone for _, zone in sorted(platform)),
        )

    def save_progress(
        self, member_id: int, records: Sequence[ProgressRecord], now: datetime
    ) -> None:
        """Upsert every record in one statement."""
        if records:
            values = self._progress_values(member_id, records, now)
            self._sql.run_text(_save_sql(self._sql.flavor, len(records)), values)

    def _progress_values(
        self, member_id: int, records: Sequence[ProgressRecord], now: datetime
    ) -> list[object]:
        """The rows' values in `_SAVE_HEAD`'s column order."""
        flavor = self._sql.flavor
        bound: dict[datetime, object] = {}  # rows of one period share their window's end

        def time(moment: datetime) -> object:
            found = bound.get(moment)
            if found is None:
                found = bound[moment] = flavor.bind_time(moment)
            return found

        values: list[object] = []
        for r in records:
            values += [
                member_id,
                r.challenge_id,
                r.period,
                r.value,
                r.target,
                time(r.window_end),
                flavor.bind_day(r.last_day),
                time(r.completed_at) if r.completed_at else None,
                r.reward_journal_id,
                r.reward_lot_id,
                r.reward_points,
                r.rewards,
                r.streak,
                flavor.bind_day(r.streak_last_day) if r.streak_last_day else None,
                time(r.streak_ends_at) if r.streak_ends_at else None,
                time(now),
            ]
        return values

    def join(self, member_id: int, challenge_id: str, now: datetime) -> bool:
        """Join once."""
        params = {
            "member_id": member_id,
            "challenge_id": challenge_id,
            "joined_at": self._sql.flavor.bind_time(now),
        }
        return self._sql.run(_JOIN, params) == 1

    def add_badge(
        self, member_id: int, badge_id: str, challenge_id: str, period: str, now: datetime
    ) -> None:
        """Keep the badge a challenge gave in a period."""
        self._sql.run(
            _ADD_BADGE,
            {
                "member_id": member_id,
                "challenge_id": challenge_id,
                "period": period,
                "badge_id": badge_id,
                "earned_at": self._sql.flavor.bind_time(now),
            },
        )

    def remove_badge(self, member_id: int, challenge_id: str, period: str) -> None:
        """Take back the badge of a period (its completion was undone)."""
        params = {"member_id": member_id, "challenge_id": challenge_id, "period": period}
        self._sql.run(_REMOVE_BADGE, params)

    def badges(self, member_id: int) -> list[BadgeCount]:
        """Badges held, latest first, with how often each was earned."""
        read_time = self._sql.flavor.read_time
        return [
            BadgeCount(badge_id=row[0], times=int(row[1]), last_earned=read_time(row[2]))
            for row in self._sql.all(_BADGES, {"member_id": member_id})
        ]

    def streaks_at_risk(self, ends_from: datetime, ends_until: datetime) -> list[StreakAtRisk]:
        """Streaks ending between the two instants unless their member visits."""
        read_time = self._sql.flavor.read_time
        return [
            StreakAtRisk(
                member_id=row[0],
                challenge_id=row[1],
                period=row[2],
                streak=int(row[3]),
                ends_at=read_time(row[4]),
            )
            for row in self._sql.all(STREAKS_AT_RISK, self._between(ends_from, ends_until))
        ]

    def challenges_ending(self, ends_from: datetime, ends_until: datetime) -> list[ChallengeEnding]:
        """Unfinished progress whose window closes between the two instants."""
        read_time = self._sql.flavor.read_time
        return [
            ChallengeEnding(
                member_id=row[0],
                challenge_id=row[1],
                period=row[2],
                value=int(row[3]),
                target=int(row[4]),
                ends_at=read_time(row[5]),
            )
            for row in self._sql.all(CHALLENGES_ENDING, self._between(ends_from, ends_until))
        ]

    def participants(self, challenge_id: str, now: datetime) -> list[int]:
        """Members who joined a challenge or have progress on it in an open period."""
        params = {"challenge_id": challenge_id, "now": self._sql.flavor.bind_time(now)}
        return sorted(int(row[0]) for row in self._sql.all(PARTICIPANTS, params))

    def _between(self, start: datetime, end: datetime) -> dict[str, object]:
        bind = self._sql.flavor.bind_time
        return {"ends_from": bind(start), "ends_until": bind(end)}

    def _record(
        self, row: Row, times: dict[object, datetime], days: dict[object, date]
    ) -> ProgressRecord:
        flavor = self._sql.flavor
        window_end = times.get(row[4])
        if window_end is None:
            window_end = times[row[4]] = flavor.read_time(row[4])
        last_day = days.get(row[5])
        if last_day is None:
            last_day = days[row[5]] = flavor.read_day(row[5])
        return ProgressRecord(
            challenge_id=row[0],
            period=row[1],
            value=int(row[2]),
            target=int(row[3]),
            window_end=window_end,
            last_day=last_day,
            completed_at=flavor.read_time(row[6]) if row[6] is not None else None,
            reward_journal_id=row[7],
            reward_lot_id=row[8],
            reward_points=int(row[9]),
            rewards=int(row[10]),
            streak=int(row[11]),
            streak_last_day=flavor.read_day(row[12]) if row[12] is not None else None,
            streak_ends_at=flavor.read_time(row[13]) if row[13] is not None else None,
        )
