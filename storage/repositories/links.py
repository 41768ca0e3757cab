"""One-time /link codes, and moving everything a member owns to the member it joins."""

from __future__ import annotations

from datetime import datetime

from core.codes import normalize_code
from storage.sql import Query, Sql

_ADD_CODE = Query(
    "INSERT INTO link_code (code, member_id, expires_at) VALUES (:code, :member_id, :expires_at)"
)
# Deleted as it is read: a code works once, even when two chats send it at the same moment.
_TAKE_CODE = Query("DELETE FROM link_code WHERE code = :code RETURNING member_id, expires_at")
_OWNER = Query("SELECT member_id, expires_at FROM link_code WHERE code = :code")
_DROP_EXPIRED = Query("DELETE FROM link_code WHERE expires_at < :now")
# A customer imported with a Telegram username who has not talked to the bot on `platform`.
_IMPORTED_WAITING = Query(
    "SELECT c.member_id FROM identity c JOIN member m ON m.id = c.member_id"
    " WHERE c.platform = 'customer' AND c.username_key = :key AND m.merged_into IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM identity o WHERE o.member_id = c.member_id"
    " AND o.platform = :platform) ORDER BY c.member_id LIMIT 2"
)
# Everything that names the source member, re-pointed in one transaction (the ledger's
# balances move in the caller's transfer journal). Journals and postings keep naming the
# source: history is never rewritten, and the source's accounts keep their postings.
_MOVES = (
    Query("UPDATE identity SET member_id = :target WHERE member_id = :source"),
    Query("UPDATE purchase SET member_id = :target WHERE member_id = :source"),
    Query(
        "INSERT INTO purchase_day (member_id, day, spend_minor, points)"
        " SELECT :target, day, spend_minor, points FROM purchase_day WHERE member_id = :source"
        " ON CONFLICT (member_id, day) DO UPDATE SET"
        " spend_minor = purchase_day.spend_minor + excluded.spend_minor,"
        " points = purchase_day.points + excluded.points"
    ),
    Query("DELETE FROM purchase_day WHERE member_id = :source"),
    Query("UPDATE redemption SET member_id = :target WHERE member_id = :source"),
    Query("UPDATE outbox SET member_id = :target WHERE member_id = :source AND status = 'queued'"),
    Query("DELETE FROM unreachable WHERE member_id = :source"),
    Query("DELETE FROM link_code WHERE member_id = :source"),
    # Friends the source invited now count as the target's; the target keeps its own
    # inviter, or takes the source's (never itself); the higher role wins.
    Query("UPDATE member SET referred_by = :target WHERE referred_by = :source AND id <> :target"),
    Query(
        "UPDATE member SET referred_by = COALESCE(referred_by,"
        " (SELECT s.referred_by FROM member s WHERE s.id = :source AND s.referred_by <> :target)),"
        " role = CASE WHEN role >= (SELECT s.role FROM member s WHERE s.id = :source) THEN role"
        " ELSE (SELECT s.role FROM member s WHERE s.id = :source) END WHERE id = :target"
    ),
    Query("UPDATE member SET merged_into = :target WHERE id = :source OR merged_into = :source"),
)
_MOVE_LOTS = Query("UPDATE lot SET member_id = :target WHERE member_id = :source")


class SqlLinkRepository:
    """`core.ports.LinkRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add_code(self, code: str, member_id: int, expires_at: datetime) -> None:
        """Store a one-time code (and forget codes that expired meanwhile)."""
        bind_time = self._sql.flavor.bind_time
        self._sql.run(_DROP_EXPIRED, {"now": bind_time(datetime.now(expires_at.tzinfo))})
        params = {"code": code, "member_id": member_id, "expires_at": bind_time(expires_at)}
        self._sql.run(_ADD_CODE, params)

    def code_owner(self, code: str, now: datetime) -> int | None:
        """The member a live code belongs to (the code stays usable)."""
        row = self._sql.one(_OWNER, {"code": normalize_code(code)})
        if row is None or self._sql.flavor.read_time(row[1]) < now:
            return None
        return int(row[0])

    def take_code(self, code: str, now: datetime) -> int | None:
        """The member a live code belongs to, using the code up; None if unknown or expired."""
        row = self._sql.one(_TAKE_CODE, {"code": code})
        if row is None or self._sql.flavor.read_time(row[1]) < now:
            return None
        return int(row[0])

    def imported_waiting(self, username: str, platform: str) -> int | None:
        """The one imported customer with this username not yet on `platform`, if any."""
        key = username.strip().removeprefix("@").lower()
        rows = self._sql.all(_IMPORTED_WAITING, {"key": key, "platform": platform})
        return int(rows[0][0]) if len(rows) == 1 else None

    def move_member(self, source_id: int, target_id: int) -> int:
        """Re-point everything of the source to the target; the number of lots moved."""
        params = {"source": source_id, "target": target_id}
        lots = self._sql.run(_MOVE_LOTS, params)
        for query in _MOVES:
            self._sql.run(query, params)
        return lots
