"""Reports and privacy: indexes on journal and purchase times and on postings by journal (the
report's range scans), the
tombstones of forgotten chat identities, and the audit of exports and erasures.

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-25 18:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_journal_effective_at", "journal", ["effective_at"])
    op.create_index("ix_purchase_occurred_at", "purchase", ["occurred_at"])
    op.create_index("ix_posting_journal_id", "posting", ["journal_id"])
    op.create_table(
        "forgotten_identity",
        sa.Column("identity_hash", sa.Text(), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity_hash"),
    )
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("privacy_audit")
    op.drop_table("forgotten_identity")
    op.drop_index("ix_posting_journal_id", table_name="posting")
    op.drop_index("ix_purchase_occurred_at", table_name="purchase")
    op.drop_index("ix_journal_effective_at", table_name="journal")
