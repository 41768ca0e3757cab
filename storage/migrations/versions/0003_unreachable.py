"""Members unreachable on a platform, in their own table (looked up by primary key per send);
an index to total what each lot gave (refunds of purchases whose points expired).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unreachable",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "platform"),
    )
    op.create_index("ix_lot_movement_lot", "lot_movement", ["lot_id"])


def downgrade() -> None:
    op.drop_index("ix_lot_movement_lot", table_name="lot_movement")
    op.drop_table("unreachable")
