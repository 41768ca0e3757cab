"""At the till and behind it: purchase store and channel, vouchers used at the counter,
one-time /link codes, merged members and birthdays, the opening-balance issuance account.

External customer ids need no table: they are identities on the `customer` platform.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-25 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNUSED = "used_at IS NULL AND returned_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("purchase") as batch:
        batch.add_column(sa.Column("store", sa.Text(), nullable=True))
        batch.add_column(sa.Column("channel", sa.Text(), nullable=True))
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("birthday", sa.Date(), nullable=True))
        batch.create_foreign_key("fk_member_merged_into", "member", ["merged_into"], ["id"])
    op.create_index("ix_member_merged_into", "member", ["merged_into"])
    op.create_index("ix_member_referred_by", "member", ["referred_by"])
    with op.batch_alter_table("redemption") as batch:
        batch.add_column(sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("used_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("used_store", sa.Text(), nullable=True))
        batch.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_redemption_used_by", "member", ["used_by"], ["id"])
    op.create_index(
        "ix_redemption_unused_due",
        "redemption",
        ["valid_until", "id"],
        sqlite_where=sa.text(_UNUSED),
        postgresql_where=sa.text(_UNUSED),
    )
    op.create_table(
        "link_code",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_link_code_member", "link_code", ["member_id"])
    account = sa.table(
        "account",
        sa.column("member_id", sa.Integer()),
        sa.column("purpose", sa.Text()),
        sa.column("balance", sa.BigInteger()),
        sa.column("version", sa.Integer()),
    )
    op.bulk_insert(
        account, [{"member_id": None, "purpose": "issued:opening", "balance": 0, "version": 0}]
    )


def downgrade() -> None:
    op.execute("DELETE FROM account WHERE member_id IS NULL AND purpose = 'issued:opening'")
    op.drop_index("ix_link_code_member", table_name="link_code")
    op.drop_table("link_code")
    op.drop_index("ix_redemption_unused_due", table_name="redemption")
    with op.batch_alter_table("redemption") as batch:
        batch.drop_constraint("fk_redemption_used_by", type_="foreignkey")
        for column in ("returned_at", "used_store", "used_by", "used_at"):
            batch.drop_column(column)
    op.drop_index("ix_member_referred_by", table_name="member")
    op.drop_index("ix_member_merged_into", table_name="member")
    with op.batch_alter_table("member") as batch:
        batch.drop_constraint("fk_member_merged_into", type_="foreignkey")
        batch.drop_column("birthday")
        batch.drop_column("merged_into")
    with op.batch_alter_table("purchase") as batch:
        batch.drop_column("channel")
        batch.drop_column("store")
