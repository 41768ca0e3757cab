"""Initial schema, and the system accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 09:00:42.636206
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported from core.model: a migration must not change with the code.
SYSTEM_PURPOSES = (
    "issued:purchase",
    "issued:action",
    "issued:referral",
    "issued:recognition",
    "issued:goodwill",
    "redeemed",
    "expired",
    "adjustment",
)


def upgrade() -> None:
    op.create_table(
        "inbound_event",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_key", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.Integer(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("referred_by", sa.Integer(), nullable=True),
        sa.Column("notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(["referred_by"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_member_code"),
        sa.UniqueConstraint("code_key", name="uq_member_code_key"),
    )
    op.create_table(
        "reward_stock",
        sa.Column("reward_id", sa.Text(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("reward_id"),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "purpose", name="uq_account_member_purpose"),
    )
    op.create_index(
        "uq_account_system_purpose",
        "account",
        ["purpose"],
        unique=True,
        sqlite_where=sa.text("member_id IS NULL"),
        postgresql_where=sa.text("member_id IS NULL"),
    )
    op.create_table(
        "identity",
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("username_key", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("time_zone", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("platform", "external_id"),
    )
    op.create_index("ix_identity_member_id", "identity", ["member_id"], unique=False)
    op.create_index("ix_identity_username_key", "identity", ["username_key"], unique=False)
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["reverses_id"], ["journal.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_journal_key"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "not_before", "id"], unique=False)
    op.create_table(
        "lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("remaining >= 0 AND remaining <= amount", name="ck_lot_remaining"),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_lot_expiry_due",
        "lot",
        ["expires_at", "id"],
        unique=False,
        sqlite_where=sa.text("state = 'available' AND remaining > 0"),
        postgresql_where=sa.text("state = 'available' AND remaining > 0"),
    )
    op.create_index(
        "ix_lot_member_available",
        "lot",
        ["member_id", "expires_at", "id"],
        unique=False,
        sqlite_where=sa.text("state = 'available' AND remaining > 0"),
        postgresql_where=sa.text("state = 'available' AND remaining > 0"),
    )
    op.create_index(
        "ix_lot_member_pending",
        "lot",
        ["member_id", "available_at", "id"],
        unique=False,
        sqlite_where=sa.text("state = 'pending' AND remaining > 0"),
        postgresql_where=sa.text("state = 'pending' AND remaining > 0"),
    )
    op.create_index(
        "ix_lot_release_due",
        "lot",
        ["available_at", "id"],
        unique=False,
        sqlite_where=sa.text("state = 'pending' AND remaining > 0"),
        postgresql_where=sa.text("state = 'pending' AND remaining > 0"),
    )
    op.create_table(
        "posting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("amount <> 0", name="ck_posting_amount_nonzero"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_posting_account_id", "posting", ["account_id", "id"], unique=False)
    op.create_table(
        "redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reward_id", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("voucher", sa.Text(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("journal_id", name="uq_redemption_journal"),
        sa.UniqueConstraint("voucher", name="uq_redemption_voucher"),
    )
    op.create_index(
        "ix_redemption_member_reward", "redemption", ["member_id", "reward_id"], unique=False
    )
    op.create_table(
        "lot_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "purchase",
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("receipt"),
    )
    op.create_index(
        "ix_purchase_member_occurred", "purchase", ["member_id", "occurred_at"], unique=False
    )
    op.create_table(
        "allowance",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "period"),
    )
    op.create_table(
        "gift",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("giver_id", sa.Integer(), nullable=False),
        sa.Column("receiver_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("value_tags", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["giver_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"]),
        sa.ForeignKeyConstraint(["receiver_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("journal_id", name="uq_gift_journal"),
    )
    op.create_index("ix_gift_given_at", "gift", ["given_at"], unique=False)
    op.create_index("ix_gift_pair_day", "gift", ["giver_id", "receiver_id", "day"], unique=False)
    # Created up front so that ledger transactions only ever read their ids.
    account = sa.table(
        "account",
        sa.column("member_id", sa.Integer()),
        sa.column("purpose", sa.Text()),
        sa.column("balance", sa.BigInteger()),
        sa.column("version", sa.Integer()),
    )
    op.bulk_insert(
        account,
        [{"member_id": None, "purpose": p, "balance": 0, "version": 0} for p in SYSTEM_PURPOSES],
    )


def downgrade() -> None:
    for table in (
        "gift",
        "allowance",
        "purchase",
        "lot_movement",
        "redemption",
        "posting",
        "lot",
        "outbox",
        "journal",
        "identity",
        "account",
        "reward_stock",
        "member",
        "inbound_event",
    ):
        op.drop_table(table)
