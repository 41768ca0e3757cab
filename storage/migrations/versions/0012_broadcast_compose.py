"""Composing a broadcast step by step: where each author is (segment chosen, text awaited),
so the conversation survives a restart and any worker continues it.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-25 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast_compose",
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=True),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("author_id"),
    )


def downgrade() -> None:
    op.drop_table("broadcast_compose")
