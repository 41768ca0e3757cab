"""Nudges read per member: the frequency cap counts each selected member's nudges of the last
day and week (ix_nudge_member, instead of aggregating the whole week's nudges by time, which
ix_nudge_planned served: dropped), and the win-back query asks, for every inactive member,
whether a win-back was planned since their spell away began (ix_nudge_winback); each selected
member's zone as a platform told it is read from ix_identity_time_zone alone.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 01:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WINBACK = sa.text("kind = 'winback'")
_ZONED = sa.text("time_zone IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_nudge_member", "nudge", ["member_id", "planned_at"])
    op.drop_index("ix_nudge_planned", table_name="nudge")
    # Partial: only win-backs, a small share of the nudges, are read in member order.
    op.create_index(
        "ix_nudge_winback",
        "nudge",
        ["member_id", "planned_at"],
        sqlite_where=_WINBACK,
        postgresql_where=_WINBACK,
    )
    op.create_index(
        "ix_identity_time_zone",
        "identity",
        ["member_id", "time_zone"],
        sqlite_where=_ZONED,
        postgresql_where=_ZONED,
    )


def downgrade() -> None:
    op.drop_index("ix_identity_time_zone", table_name="identity")
    op.drop_index("ix_nudge_winback", table_name="nudge")
    op.create_index("ix_nudge_planned", "nudge", ["planned_at", "member_id"])
    op.drop_index("ix_nudge_member", table_name="nudge")
