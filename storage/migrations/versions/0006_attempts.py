"""Wrong guesses per person and kind of code (card tokens, member codes, later store and
voucher codes), so guessing is limited across every worker.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-25 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject"),
    )


def downgrade() -> None:
    op.drop_table("attempt")
