"""Outbox v2 (catalog key, recipient member or channel, category, buttons, image by digest),
members' time zone and quiet hours, and opt-outs per message category.

Existing rows keep their meaning: an outbox row's kind becomes its catalog key
(`points_earned` -> `notify.points_earned`, all of them transactional); rows the old dispatcher
failed because the member had turned notifications off become `skipped`; and a member who had
turned notifications off is opted out of every marketing category there is (promotions), while
receipts of their own points now always reach them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported from core.categories: a migration must not change with the code.
MARKETING_CATEGORIES = ("broadcast",)
OLD_OPTED_OUT_ERROR = "no member or opted out"
RECIPIENT_CHECK = (
    "(member_id IS NOT NULL AND channel_platform IS NULL AND channel_id IS NULL)"
    " OR (member_id IS NULL AND channel_platform IS NOT NULL AND channel_id IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "outbox_image",
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "opt_out",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "category"),
    )
    op.add_column("member", sa.Column("time_zone", sa.Text(), nullable=True))
    op.add_column("member", sa.Column("quiet_start", sa.Integer(), nullable=True))
    op.add_column("member", sa.Column("quiet_end", sa.Integer(), nullable=True))
    for category in MARKETING_CATEGORIES:
        op.execute(
            sa.text(
                "INSERT INTO opt_out (member_id, category, since)"
                " SELECT id, :category, CURRENT_TIMESTAMP FROM member WHERE NOT notifications"
            ).bindparams(category=category)
        )
    # A plain column on both engines (SQLite has had DROP COLUMN since 3.35).
    op.execute("ALTER TABLE member DROP COLUMN notifications")

    with op.batch_alter_table("outbox", recreate="auto") as batch:
        batch.alter_column("kind", new_column_name="message_key", existing_type=sa.Text())
        batch.alter_column("member_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("channel_platform", sa.Text(), nullable=True))
        batch.add_column(sa.Column("channel_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("buttons", sa.Text(), nullable=True))
        batch.add_column(sa.Column("image_digest", sa.Text(), nullable=True))
        batch.create_foreign_key(
            "fk_outbox_image_digest", "outbox_image", ["image_digest"], ["digest"]
        )
        batch.add_column(
            sa.Column("category", sa.Text(), server_default="transactional", nullable=False)
        )
        batch.create_check_constraint("ck_outbox_recipient", RECIPIENT_CHECK)
    op.execute("UPDATE outbox SET message_key = 'notify.' || message_key")
    op.execute(
        sa.text(
            "UPDATE outbox SET status = 'skipped', last_error = 'opted_out'"
            " WHERE status = 'failed' AND last_error = :old"
        ).bindparams(old=OLD_OPTED_OUT_ERROR)
    )


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE member_id IS NULL")
    op.execute(
        "UPDATE outbox SET message_key = substr(message_key, 8)"
        " WHERE message_key LIKE 'notify.%'"
    )
    op.execute(
        sa.text(
            "UPDATE outbox SET status = 'failed', last_error = :old WHERE status = 'skipped'"
        ).bindparams(old=OLD_OPTED_OUT_ERROR)
    )
    op.execute("UPDATE outbox SET status = 'queued' WHERE status = 'deferred'")
    with op.batch_alter_table("outbox", recreate="auto") as batch:
        batch.drop_constraint("ck_outbox_recipient", type_="check")
        batch.drop_constraint("fk_outbox_image_digest", type_="foreignkey")
        batch.drop_column("category")
        batch.drop_column("image_digest")
        batch.drop_column("buttons")
        batch.drop_column("channel_id")
        batch.drop_column("channel_platform")
        batch.alter_column("member_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("message_key", new_column_name="kind", existing_type=sa.Text())
    op.add_column(
        "member",
        sa.Column("notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.execute(
        "UPDATE member SET notifications = FALSE"
        " WHERE id IN (SELECT member_id FROM opt_out WHERE category = 'broadcast')"
    )
    op.drop_column("member", "quiet_end")
    op.drop_column("member", "quiet_start")
    op.drop_column("member", "time_zone")
    op.drop_table("opt_out")
    op.drop_table("outbox_image")
