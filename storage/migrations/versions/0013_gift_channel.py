"""Where a recognition gift was given: the Slack channel's id and name (recognition by team).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 21:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: gifts given before this revision, and in direct messages, have no channel.
    op.add_column("gift", sa.Column("channel", sa.Text(), nullable=True))
    op.add_column("gift", sa.Column("channel_name", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gift") as batch:
        batch.drop_column("channel_name")
        batch.drop_column("channel")
