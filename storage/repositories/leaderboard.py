"""Leaderboards: points earned per period, progress per challenge, and who opted out.

Members who opted out are left out of what others read and of everyone's rank (the reader's
own rank counts the members shown, so an opted-out reader sees where they would stand).
"""

from __future__ import annotations

from datetime import datetime

from core.gamification_model import Ranked
from storage.sql import Query, Row, Sql

_VISIBLE = "NOT EXISTS (SELECT 1 FROM leaderboard_opt_out o WHERE o.member_id = {alias}.member_id)"
_ADD = Query(
    "INSERT INTO leaderboard_score (period, member_id, points) VALUES (:period, :member_id,"
    " :points) ON CONFLICT (period, member_id) DO UPDATE SET"
    " points = leaderboard_score.points + excluded.points"
)
_TOP = Query(
    "SELECT s.member_id, m.display_name, s.points FROM leaderboard_score s"
    " JOIN member m ON m.id = s.member_id WHERE s.period = :period AND s.points > 0"
    " AND {visible} ORDER BY s.points DESC, s.member_id LIMIT :limit",
    visible=_VISIBLE.format(alias="s"),
)
_SCORE = Query(
    "SELECT points FROM leaderboard_score WHERE period = :period AND member_id = :member_id"
)
_RANK = Query(
    "SELECT COUNT(*) FROM leaderboard_score s WHERE s.period = :period AND s.points > :score"
    " AND {visible}",
    visible=_VISIBLE.format(alias="s"),
)
_TOP_PROGRESS = Query(
    "SELECT p.member_id, m.display_name, p.value FROM challenge_progress p"
    " JOIN member m ON m.id = p.member_id WHERE p.challenge_id = :challenge_id"
    " AND p.period = :period AND p.value > 0 AND {visible}"
    " ORDER BY p.value DESC, p.member_id LIMIT :limit",
    visible=_VISIBLE.format(alias="p"),
)
_PROGRESS_RANK = Query(
    "SELECT COUNT(*) FROM challenge_progress p WHERE p.challenge_id = :challenge_id"
    " AND p.period = :period AND p.value > :value AND {visible}",
    visible=_VISIBLE.format(alias="p"),
)
_HIDE = Query(
    "INSERT INTO leaderboard_opt_out (member_id, since) VALUES (:member_id, :since)"
    " ON CONFLICT (member_id) DO NOTHING"
)
_SHOW = Query("DELETE FROM leaderboard_opt_out WHERE member_id = :member_id")
_HIDDEN = Query("SELECT 1 FROM leaderboard_opt_out WHERE member_id = :member_id")


class SqlLeaderboardRepository:
    """`core.ports.LeaderboardRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add_points(self, period: str, member_id: int, points: int) -> None:
        """Add (or, negative, take off) points earned in a period."""
        self._sql.run(_ADD, {"period": period, "member_id": member_id, "points": points})

    def top(self, period: str, limit: int) -> list[Ranked]:
        """The highest scores of a period among members who show on leaderboards."""
        return _ranked(self._sql.all(_TOP, {"period": period, "limit": limit}))

    def score(self, period: str, member_id: int) -> int | None:
        """A member's points in a period, if they earned any."""
        row = self._sql.one(_SCORE, {"period": period, "member_id": member_id})
        return int(row[0]) if row is not None else None

    def rank(self, period: str, score: int) -> int:
        """1 + visible members who scored more."""
        row = self._sql.one(_RANK, {"period": period, "score": score})
        return 1 + (int(row[0]) if row is not None else 0)

    def top_progress(self, challenge_id: str, period: str, limit: int) -> list[Ranked]:
        """The furthest along on a challenge in a period."""
        params = {"challenge_id": challenge_id, "period": period, "limit": limit}
        return _ranked(self._sql.all(_TOP_PROGRESS, params))

    def progress_rank(self, challenge_id: str, period: str, value: int) -> int:
        """1 + visible members further along."""
        params = {"challenge_id": challenge_id, "period": period, "value": value}
        row = self._sql.one(_PROGRESS_RANK, params)
        return 1 + (int(row[0]) if row is not None else 0)

    def set_hidden(self, member_id: int, hidden: bool, now: datetime) -> None:
        """Opt out of leaderboards (or back in)."""
        if hidden:
            since = self._sql.flavor.bind_time(now)
            self._sql.run(_HIDE, {"member_id": member_id, "since": since})
        else:
            self._sql.run(_SHOW, {"member_id": member_id})

    def is_hidden(self, member_id: int) -> bool:
        """True when the member opted out."""
        return self._sql.one(_HIDDEN, {"member_id": member_id}) is not None


def _ranked(rows: list[Row]) -> list[Ranked]:
    """Rows in score order, numbered with ties sharing a rank (1, 2, 2, 4)."""
    ranked: list[Ranked] = []
    for position, (member_id, name, score) in enumerate(rows, start=1):
        tied = ranked and ranked[-1].score == int(score)
        rank = ranked[-1].rank if tied else position
        ranked.append(Ranked(rank=rank, member_id=int(member_id), name=name, score=int(score)))
    return ranked
