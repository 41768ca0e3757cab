"""The report's per-block cache of the points flows (`storage.flow_cache`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A block is the journals with id // 16384 = block: how many there were when its sums were
    # written, the zone their local days were taken in, and the span of their effective times.
    op.create_table(
        "flow_block",
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("journals", sa.Integer(), nullable=False),
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("block"),
    )
    # The block's postings summed per local day (its midnight), journal kind and account purpose.
    op.create_table(
        "flow_day",
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("block", "day", "kind", "purpose"),
    )


def downgrade() -> None:
    op.drop_table("flow_day")
    op.drop_table("flow_block")
