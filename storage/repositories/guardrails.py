"""Guardrails: which program actions were awarded to whom, per limit period."""

from __future__ import annotations

from storage.sql import Query, Sql

_CLAIM = Query(
    "INSERT INTO action_award (member_id, action, period, journal_id)"
    " VALUES (:member_id, :action, :period, :journal_id)"
    " ON CONFLICT (member_id, action, period) DO NOTHING"
)


class SqlGuardrailRepository:
    """`core.ports.GuardrailRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def claim_action(self, member_id: int, action: str, period: str, journal_id: int) -> bool:
        """Record the award; False when the action was awarded in that period already."""
        params = {
            "member_id": member_id,
            "action": action,
            "period": period,
            "journal_id": journal_id,
        }
        return self._sql.run(_CLAIM, params) == 1
