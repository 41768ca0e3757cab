"""Inbound deliveries kept until handled (a lease per handling) and one send budget per bot
token shared by every worker.

`inbound_event` becomes `inbound_delivery`: besides the key, a stored update's payload, its
state (`pending` until the command that handles it commits, then `done`), who holds it and
until when. Every row recorded before was handled, so it is `done`.

Revision ID: 0009
Revises: 0011
Create Date: 2026-11-25 18:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.rename_table("inbound_event", "inbound_delivery")
    with op.batch_alter_table("inbound_delivery", recreate="never") as batch:
        batch.add_column(sa.Column("state", sa.Text(), nullable=False, server_default="done"))
        batch.add_column(sa.Column("holder", sa.Text(), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
    op.create_index("ix_inbound_delivery_pending", "inbound_delivery", ["lease_until"],
                    sqlite_where=PENDING, postgresql_where=PENDING)  # fmt: skip
    op.create_table(
        "send_budget",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
    op.drop_index("ix_inbound_delivery_pending", "inbound_delivery")
    with op.batch_alter_table("inbound_delivery", recreate="auto") as batch:
        batch.drop_column("payload")
        batch.drop_column("lease_until")
        batch.drop_column("holder")
        batch.drop_column("state")
    op.rename_table("inbound_delivery", "inbound_event")
