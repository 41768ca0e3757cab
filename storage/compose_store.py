"""`core.broadcast_steps.ComposeStore` on SQL: one row per author, written with an upsert so
two workers answering the same author never leave two."""

from __future__ import annotations

from core.broadcast_steps import Composing
from storage.database import SqlDatabase
from storage.sql import Query, flavor_for

_GET = Query(
    "SELECT author_id, step, segment, holdout_percent, expires_at FROM broadcast_compose"
    " WHERE author_id = :author_id"
)
_PUT = Query(
    "INSERT INTO broadcast_compose (author_id, step, segment, holdout_percent, expires_at)"
    " VALUES (:author_id, :step, :segment, :holdout_percent, :expires_at)"
    " ON CONFLICT (author_id) DO UPDATE SET step = excluded.step,"
    " segment = excluded.segment, holdout_percent = excluded.holdout_percent,"
    " expires_at = excluded.expires_at"
)
_CLEAR = Query("DELETE FROM broadcast_compose WHERE author_id = :author_id")


class SqlComposeStore:
    """Composing state on the database's engine; each call its own transaction."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._flavor = flavor_for(database.engine.dialect.name)

    def get(self, author_id: int) -> Composing | None:
        """The author's state, if any (expired ones too)."""
        row = self._database.run_sql(
            lambda sql: sql.one(_GET, {"author_id": author_id}), write=False
        )
        if row is None:
            return None
        return Composing(
            author_id=int(row[0]),
            step=str(row[1]),
            segment=None if row[2] is None else str(row[2]),
            holdout_percent=int(row[3]),
            expires_at=self._flavor.read_time(row[4]),
        )

    def put(self, state: Composing) -> None:
        """Record where the author is now."""
        params = {
            "author_id": state.author_id,
            "step": state.step,
            "segment": state.segment,
            "holdout_percent": state.holdout_percent,
            "expires_at": self._flavor.bind_time(state.expires_at),
        }
        self._database.run_sql(lambda sql: sql.run(_PUT, params))

    def clear(self, author_id: int) -> bool:
        """Forget the author's state; False when there was none."""
        removed = self._database.run_sql(lambda sql: sql.run(_CLEAR, {"author_id": author_id}))
        return removed > 0
