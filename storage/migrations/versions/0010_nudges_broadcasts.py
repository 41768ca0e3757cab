"""Nudges and broadcasts: the nudges planned (one row per dedupe key, for the frequency cap),
broadcasts with their state, and each broadcast's audience with its holdout.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 18:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "nudge",
        _text("dedupe_key"), _int("member_id"), _text("kind"), _when("planned_at"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("dedupe_key"),
    )  # fmt: skip
    op.create_index("ix_nudge_planned", "nudge", ["planned_at", "member_id"])
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False), _int("author_id", True),
        _text("segment"), _text("body"), _int("holdout_percent"), _text("status"),
        _int("audience", True), _int("holdout", True), _when("created_at"),
        _when("scheduled_at", True), _when("started_at", True), _when("finished_at", True),
        _when("lift_7_at", True), _when("lift_30_at", True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], name="fk_broadcast_author"),
        sa.PrimaryKeyConstraint("id"),
    )  # fmt: skip
    op.create_index("ix_broadcast_status", "broadcast", ["status", "scheduled_at"])
    op.create_table(
        "broadcast_member",
        _int("broadcast_id"), _int("member_id"),
        sa.Column("holdout", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcast.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("broadcast_id", "member_id"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("broadcast_member")
    op.drop_index("ix_broadcast_status", table_name="broadcast")
    op.drop_table("broadcast")
    op.drop_index("ix_nudge_planned", table_name="nudge")
    op.drop_table("nudge")
