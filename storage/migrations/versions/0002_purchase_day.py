"""Per-member daily purchase totals, backfilled from the purchases recorded so far.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The UTC day of purchase.occurred_at: SQLite keeps naive UTC text, PostgreSQL a timestamptz.
_DAY = {
    "sqlite": "date(occurred_at)",
    "postgresql": "CAST(occurred_at AT TIME ZONE 'UTC' AS DATE)",
}


def upgrade() -> None:
    op.create_table(
        "purchase_day",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "day"),
    )
    # Refunds are already netted on their purchase's row, so they land on the purchase's day.
    day = _DAY[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO purchase_day (member_id, day, spend_minor, points)"
        f" SELECT member_id, {day}, SUM(amount_minor - refunded_minor),"
        " SUM(points - refunded_points)"
        f" FROM purchase GROUP BY member_id, {day}"
    )


def downgrade() -> None:
    op.drop_table("purchase_day")
