"""A member's choices about messages: time zone and quiet hours on the member, opt-outs apart."""

from __future__ import annotations

from datetime import datetime

from core.preferences import Preferences, QuietHours
from storage.sql import Query, Sql

_MEMBER = Query("SELECT time_zone, quiet_start, quiet_end FROM member WHERE id = :id")
_OPTED_OUT = Query("SELECT category FROM opt_out WHERE member_id = :id")
_SET_ZONE = Query("UPDATE member SET time_zone = :zone WHERE id = :id")
_SET_QUIET = Query("UPDATE member SET quiet_start = :start, quiet_end = :end WHERE id = :id")
_OPT_OUT = Query(
    "INSERT INTO opt_out (member_id, category, since) VALUES (:id, :category, :since)"
    " ON CONFLICT (member_id, category) DO NOTHING"
)
_OPT_IN = Query("DELETE FROM opt_out WHERE member_id = :id AND category = :category")


class SqlPreferenceRepository:
    """`core.ports.PreferenceRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def get(self, member_id: int) -> Preferences:
        """The member's choices (defaults for a member who made none, or is gone)."""
        row = self._sql.one(_MEMBER, {"id": member_id})
        if row is None:
            return Preferences()
        zone, start, end = row
        quiet = (
            QuietHours.from_minutes(start, end) if start is not None and end is not None else None
        )
        opted_out = frozenset(r[0] for r in self._sql.all(_OPTED_OUT, {"id": member_id}))
        return Preferences(time_zone=zone, quiet_hours=quiet, opted_out=opted_out)

    def set_time_zone(self, member_id: int, zone: str | None) -> None:
        """A zone name or offset; None: the default again."""
        self._sql.run(_SET_ZONE, {"id": member_id, "zone": zone})

    def set_quiet_hours(self, member_id: int, quiet: QuietHours | None) -> None:
        """Quiet hours; None: the default again."""
        start, end = quiet.minutes() if quiet is not None else (None, None)
        self._sql.run(_SET_QUIET, {"id": member_id, "start": start, "end": end})

    def set_opted_out(self, member_id: int, category: str, opted_out: bool, now: datetime) -> None:
        """Opt out of a category, or back in."""
        if opted_out:
            since = self._sql.flavor.bind_time(now)
            self._sql.run(_OPT_OUT, {"id": member_id, "category": category, "since": since})
        else:
            self._sql.run(_OPT_IN, {"id": member_id, "category": category})
