"""The win-backs planned per member, in the order of their time: the win-back query asks, for
every inactive member, whether one was planned since their spell away began.

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


def upgrade() -> None:
    # Partial: only win-backs, a small share of the nudges, are looked up per member.
    op.create_index(
        "ix_nudge_winback",
        "nudge",
        ["member_id", "planned_at"],
        sqlite_where=_WINBACK,
        postgresql_where=_WINBACK,
    )


def downgrade() -> None:
    op.drop_index("ix_nudge_winback", table_name="nudge")
