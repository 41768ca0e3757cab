"""`core.broadcasts.BroadcastStore` on SQL: a segment as one query, the audience and holdout
drawn and the outbox rows queued set-based (INSERT ... SELECT), the report as one grouped read
of those rows, and the lift's per-group sums (`core.lift.LiftStore`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from core.broadcasts import BroadcastInfo, Report, holdout_size, report_json
from core.lift import GroupSums
from core.outbox import OutboxMessage
from core.segments import Segment
from storage.database import SqlDatabase
from storage.outbox_codec import dump_buttons, dump_params
from storage.sql import Flavor, Query, Row, Sql, flavor_for

T = TypeVar("T")

_COLUMNS = (
    "id, author_id, segment, body, holdout_percent, status, audience, holdout, created_at,"
    " scheduled_at, started_at"
)
_GET = Query("SELECT {columns} FROM broadcast WHERE id = :id", columns=_COLUMNS)
_CREATE = Query(
    "INSERT INTO broadcast (author_id, segment, body, holdout_percent, status, created_at)"
    " VALUES (:author_id, :segment, :body, :holdout_percent, 'draft', :now) RETURNING id"
)
_SCHEDULE = Query(
    "UPDATE broadcast SET status = 'scheduled', scheduled_at = :at"
    " WHERE id = :id AND status IN ('draft', 'scheduled')"
)
# Claiming the start is the first statement: a second starter (a retry, another worker)
# changes no row and stops there.
_CLAIM_START = Query(
    "UPDATE broadcast SET status = 'sending', started_at = :now"
    " WHERE id = :id AND status IN ('draft', 'scheduled')"
)
_AUDIENCE_HEAD = (
    "INSERT INTO broadcast_member (broadcast_id, member_id, holdout) SELECT :id, m.id, FALSE"
)
_COUNT = Query("SELECT COUNT(*) FROM broadcast_member WHERE broadcast_id = :id")
# `random()` on both engines: an unbiased draw of exactly :size members.
_HOLD_BACK = Query(
    "UPDATE broadcast_member SET holdout = TRUE WHERE broadcast_id = :id AND member_id IN"
    " (SELECT member_id FROM broadcast_member WHERE broadcast_id = :id ORDER BY random()"
    " LIMIT :size)"
)
# Opted-out members get a row settled as skipped, so the report accounts for everyone.
_QUEUE = Query(
    "INSERT INTO outbox (member_id, message_key, params, buttons, category, dedupe_key, status,"
    " attempts, not_before, created_at, last_error)"
    " SELECT bm.member_id, :key, :params, :buttons, :category, :prefix || bm.member_id,"
    " CASE WHEN o.member_id IS NULL THEN 'queued' ELSE 'skipped' END, 0, :now, :now,"
    " CASE WHEN o.member_id IS NULL THEN NULL ELSE :opted_out END"
    " FROM broadcast_member bm LEFT JOIN opt_out o ON o.member_id = bm.member_id"
    " AND o.category = :category WHERE bm.broadcast_id = :id AND NOT bm.holdout"
    " ON CONFLICT (dedupe_key) DO NOTHING"
)
_SIZES = Query("UPDATE broadcast SET audience = :audience, holdout = :holdout WHERE id = :id")
_DUE = Query(
    "SELECT id FROM broadcast WHERE status = 'scheduled' AND scheduled_at <= :now ORDER BY id"
)
_CANCEL = Query(
    "UPDATE broadcast SET status = 'cancelled', finished_at = :now"
    " WHERE id = :id AND status IN ('draft', 'scheduled', 'sending')"
)
_SKIP_WAITING = Query(
    "UPDATE outbox SET status = 'skipped', last_error = 'cancelled'"
    " WHERE status IN ('queued', 'deferred') AND dedupe_key IN"
    " (SELECT :prefix || member_id FROM broadcast_member WHERE broadcast_id = :id"
    " AND NOT holdout)"
)
_UNREPORTED = Query(
    "SELECT id FROM broadcast WHERE report IS NULL AND started_at IS NOT NULL"
    " AND status IN ('sending', 'cancelled') ORDER BY id"
)
_STATUSES = Query(
    "SELECT o.status, COUNT(*) FROM broadcast_member bm JOIN outbox o"
    " ON o.dedupe_key = :prefix || bm.member_id WHERE bm.broadcast_id = :id AND NOT bm.holdout"
    " GROUP BY o.status"
)
_FINISH = Query(
    "UPDATE broadcast SET report = :report,"
    " status = CASE WHEN status = 'sending' THEN 'done' ELSE status END,"
    " finished_at = COALESCE(finished_at, :now) WHERE id = :id AND report IS NULL"
)
_LIFT_DUE = {
    days: Query(
        "SELECT id FROM broadcast WHERE status IN ('done', 'cancelled')"
        " AND report IS NOT NULL AND {column} IS NULL AND started_at <= :before ORDER BY id",
        column=f"lift_{days}_at",
    )
    for days in (7, 30)
}
_MARK_LIFT = {
    days: Query(
        "UPDATE broadcast SET {column} = :now WHERE id = :id AND {column} IS NULL",
        column=f"lift_{days}_at",
    )
    for days in (7, 30)
}
# Per member, over [start, end): visits (the days in the program's zone with a purchase not
# refunded whole; purchase_day is kept per UTC day, which splits an evening visit in New York
# in two), spend net of refunds, and redemptions; per group: the count, sums and sums of
# squares (means and variances). Both read purchases along (member_id, occurred_at).
_LIFT_SQL = (
    "SELECT holdout, COUNT(*), SUM(visits), SUM(visits * visits), SUM(spend),"
    " SUM(spend * spend), SUM(redemptions), SUM(redemptions * redemptions) FROM ("
    " SELECT bm.holdout AS holdout,"
    " (SELECT COUNT(DISTINCT {local_day}) FROM purchase p WHERE p.member_id = bm.member_id"
    " AND p.occurred_at >= :start AND p.occurred_at < :end"
    " AND p.amount_minor > p.refunded_minor) AS visits,"
    " (SELECT COALESCE(SUM(p.amount_minor - p.refunded_minor), 0) FROM purchase p"
    " WHERE p.member_id = bm.member_id AND p.occurred_at >= :start"
    " AND p.occurred_at < :end) AS spend,"
    " (SELECT COUNT(*) FROM redemption r WHERE r.member_id = bm.member_id"
    " AND r.created_at >= :start AND r.created_at < :end) AS redemptions"
    " FROM broadcast_member bm WHERE bm.broadcast_id = :id) x GROUP BY holdout"
)
# SQLite has no time zones: `local_day` is a function `storage.engine` gives each connection.
_LIFT = Query(
    _LIFT_SQL.format(local_day="local_day(p.occurred_at, :zone)"),
    postgresql=_LIFT_SQL.format(local_day="CAST(p.occurred_at AT TIME ZONE :zone AS DATE)"),
)
_STARTED = Query("SELECT started_at FROM broadcast WHERE id = :id")


def lift_params(
    flavor: Flavor, broadcast_id: int, start: datetime, end: datetime, zone: str
) -> dict[str, object]:
    """The parameters of the lift query (`_LIFT`), visits counted by days of `zone`."""
    return {
        "id": broadcast_id,
        "start": flavor.bind_time(start),
        "end": flavor.bind_time(end),
        "zone": zone,
    }


def prefix(broadcast_id: int) -> str:
    """Every member's outbox row of a broadcast has the dedupe key `<prefix><member id>`."""
    return f"broadcast:{broadcast_id}:"


def audience_sql(segment: Segment) -> tuple[str, dict[str, object]]:
    """FROM and WHERE selecting the segment's members as `m`, with the parameters; each
    condition is a fixed fragment, every value a parameter."""
    where = ["m.merged_into IS NULL"]
    params: dict[str, object] = {}
    if segment.tier is not None:
        params["tier"] = segment.tier
        if segment.base_tier:  # members without a stored tier are in the first one
            where.append(
                "NOT EXISTS (SELECT 1 FROM member_tier t WHERE t.member_id = m.id"
                " AND t.tier_id <> :tier)"
            )
        else:
            where.append(
                "EXISTS (SELECT 1 FROM member_tier t WHERE t.member_id = m.id"
                " AND t.tier_id = :tier)"
            )
    if segment.inactive_days is not None:
        params["inactive_days"] = segment.inactive_days
        where.append(
            "NOT EXISTS (SELECT 1 FROM purchase p WHERE p.member_id = m.id"
            " AND p.occurred_at > :inactive_since)"
        )
    if segment.challenge is not None:
        params["challenge"] = segment.challenge
        where.append(
            "(m.id IN (SELECT member_id FROM challenge_member WHERE challenge_id = :challenge)"
            " OR m.id IN (SELECT member_id FROM challenge_progress"
            " WHERE challenge_id = :challenge AND window_end > :now))"
        )
    if segment.language is not None:
        params["language"] = segment.language
        params["language_like"] = f"{segment.language}-%"
        spoken = (
            "COALESCE(m.language,"
            " (SELECT MIN(i.language) FROM identity i WHERE i.member_id = m.id))"
        )
        where.append(f"({spoken} = :language OR {spoken} LIKE :language_like)")
    if segment.platform is not None:
        params["platform"] = segment.platform
        where.append(
            "EXISTS (SELECT 1 FROM identity i WHERE i.member_id = m.id AND i.platform = :platform)"
        )
    return " FROM member m WHERE " + " AND ".join(where), params


class SqlBroadcastStore:
    """Broadcasts on the database's engine; each call its own transaction. `zone` is the
    program's (a visit in the lift is a day with a purchase there)."""

    def __init__(self, database: SqlDatabase, zone: str = "UTC") -> None:
        self._database = database
        self._flavor = flavor_for(database.engine.dialect.name)
        self._zone = zone

    def audience_size(self, segment: Segment, now: datetime) -> int:
        """How many members the segment holds now."""
        tail, params = audience_sql(segment)
        params = self._segment_params(params, now)
        statement = Query("SELECT COUNT(*)" + tail)
        row = self._run(lambda sql: sql.one(statement, params), write=False)
        return int(row[0]) if row else 0

    def create(
        self, *, author_id: int | None, segment: str, body: str, holdout_percent: int,
        now: datetime,
    ) -> int:  # fmt: skip
        """A draft; its id."""
        params = {
            "author_id": author_id,
            "segment": segment,
            "body": body,
            "holdout_percent": holdout_percent,
            "now": self._flavor.bind_time(now),
        }
        row = self._run(lambda sql: sql.one(_CREATE, params))
        assert row is not None
        return int(row[0])

    def get(self, broadcast_id: int) -> BroadcastInfo | None:
        """The broadcast, if any."""
        row = self._run(lambda sql: sql.one(_GET, {"id": broadcast_id}), write=False)
        return None if row is None else self._info(row)

    def schedule(self, broadcast_id: int, at: datetime) -> bool:
        """Set (or move) the start of a draft."""
        params = {"id": broadcast_id, "at": self._flavor.bind_time(at)}
        return self._run(lambda sql: sql.run(_SCHEDULE, params)) == 1

    def start(
        self, broadcast_id: int, segment: Segment, holdout_percent: int,
        message: OutboxMessage, now: datetime,
    ) -> tuple[int, int] | None:  # fmt: skip
        """Draw the audience and the holdout and queue every other member's row, in one
        transaction; None when it had started already."""
        tail, audience_params = audience_sql(segment)
        audience_params = self._segment_params(audience_params, now)
        insert = Query(_AUDIENCE_HEAD + tail)
        at = self._flavor.bind_time(now)

        def work(sql: Sql) -> tuple[int, int] | None:
            if sql.run(_CLAIM_START, {"id": broadcast_id, "now": at}) != 1:
                return None
            sql.run(insert, {**audience_params, "id": broadcast_id})
            counted = sql.one(_COUNT, {"id": broadcast_id})
            audience = int(counted[0]) if counted else 0
            held = holdout_size(audience, holdout_percent)
            if held:
                sql.run(_HOLD_BACK, {"id": broadcast_id, "size": held})
            sql.run(
                _QUEUE,
                {
                    "id": broadcast_id,
                    "key": message.key,
                    "params": dump_params(message.params),
                    "buttons": dump_buttons(message.buttons) if message.buttons else None,
                    "category": message.category,
                    "prefix": prefix(broadcast_id),
                    "opted_out": f"opted_out:{message.category}",
                    "now": at,
                },
            )
            sql.run(_SIZES, {"id": broadcast_id, "audience": audience, "holdout": held})
            return audience, held

        return self._run(work)

    def due(self, now: datetime) -> list[int]:
        """Scheduled broadcasts whose time has come."""
        params = {"now": self._flavor.bind_time(now)}
        return [int(row[0]) for row in self._run(lambda sql: sql.all(_DUE, params), write=False)]

    def cancel(self, broadcast_id: int, now: datetime) -> bool:
        """Cancel it and skip every member still waiting (rows being sent right now go)."""
        at = self._flavor.bind_time(now)

        def work(sql: Sql) -> bool:
            if sql.run(_CANCEL, {"id": broadcast_id, "now": at}) != 1:
                return False
            sql.run(_SKIP_WAITING, {"id": broadcast_id, "prefix": prefix(broadcast_id)})
            return True

        return self._run(work)

    def unreported(self) -> list[int]:
        """Started broadcasts whose author has not had the report yet."""
        return [int(row[0]) for row in self._run(lambda sql: sql.all(_UNREPORTED), write=False)]

    def report(self, broadcast_id: int) -> Report:
        """Where every member of the audience stands."""
        info = self.get(broadcast_id)
        params = {"id": broadcast_id, "prefix": prefix(broadcast_id)}
        rows = self._run(lambda sql: sql.all(_STATUSES, params), write=False)
        counts = {str(row[0]): int(row[1]) for row in rows}
        return Report(
            broadcast_id=broadcast_id,
            audience=(info.audience or 0) if info else 0,
            holdout=(info.holdout or 0) if info else 0,
            sent=counts.get("sent", 0),
            skipped=counts.get("skipped", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
            waiting=counts.get("queued", 0) + counts.get("deferred", 0),
        )

    def finish(self, broadcast_id: int, report: Report, now: datetime) -> bool:
        """Store the report (once): True for the call that stored it."""
        params = {
            "id": broadcast_id,
            "report": report_json(report),
            "now": self._flavor.bind_time(now),
        }
        return self._run(lambda sql: sql.run(_FINISH, params)) == 1

    def lift_due(self, now: datetime, days: int) -> list[int]:
        """Finished broadcasts `days` old whose lift was not reported yet."""
        params = {"before": self._flavor.bind_time(now - timedelta(days=days))}
        rows = self._run(lambda sql: sql.all(_LIFT_DUE[days], params), write=False)
        return [int(row[0]) for row in rows]

    def mark_lift(self, broadcast_id: int, days: int, now: datetime) -> bool:
        """Record that the `days` lift went out (once)."""
        params = {"id": broadcast_id, "now": self._flavor.bind_time(now)}
        return self._run(lambda sql: sql.run(_MARK_LIFT[days], params)) == 1

    def started_at(self, broadcast_id: int) -> datetime | None:
        """When the broadcast started (None: not yet)."""
        row = self._run(lambda sql: sql.one(_STARTED, {"id": broadcast_id}), write=False)
        return None if row is None or row[0] is None else self._flavor.read_time(row[0])

    def lift_sums(
        self, broadcast_id: int, start: datetime, end: datetime
    ) -> tuple[GroupSums, GroupSums]:
        """(members sent the message, holdout): counts, sums and sums of squares."""
        params = lift_params(self._flavor, broadcast_id, start, end, self._zone)
        rows = self._run(lambda sql: sql.all(_LIFT, params), write=False)
        groups = {bool(row[0]): _group(row) for row in rows}
        return groups.get(False, GroupSums()), groups.get(True, GroupSums())

    def _segment_params(self, params: dict[str, object], now: datetime) -> dict[str, object]:
        bind = self._flavor.bind_time
        out = {**params, "now": bind(now)}
        days = params.get("inactive_days")
        if isinstance(days, int):
            out["inactive_since"] = bind(now - timedelta(days=days))
        out.pop("inactive_days", None)
        return out

    def _info(self, row: Row) -> BroadcastInfo:
        read = self._flavor.read_time
        return BroadcastInfo(
            id=int(row[0]),
            author_id=row[1],
            segment=str(row[2]),
            body=str(row[3]),
            holdout_percent=int(row[4]),
            status=str(row[5]),
            audience=row[6],
            holdout=row[7],
            created_at=read(row[8]),
            scheduled_at=read(row[9]) if row[9] is not None else None,
            started_at=read(row[10]) if row[10] is not None else None,
        )

    def _run(self, work: Callable[[Sql], T], write: bool = True) -> T:
        return self._database.run_sql(work, write=write)


def _group(row: Row) -> GroupSums:
    values = [float(value or 0) for value in row[2:8]]
    return GroupSums(
        members=int(row[1]),
        sums=(values[0], values[2], values[4]),
        squares=(values[1], values[3], values[5]),
    )
