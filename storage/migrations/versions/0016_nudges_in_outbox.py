"""A nudge is its outbox row alone: the `nudge` table, which repeated each nudge's dedupe key,
member and time beside its outbox row (a second row, three more index entries and a second
foreign-key check per nudge), goes. The outbox row's dedupe key ("nudge:" + the nudge's) and
category name the nudge; two partial indexes on the outbox serve what the nudge table's did:
a member's nudges in time order (the frequency cap) and their win-backs (the win-back query).

The outbox's foreign key to the member goes too: members are never deleted (erasure and merging
keep the row) and every writer takes the id from a member row, while the check looked the member
up and locked their row for each message.

A nudge row without its outbox row (none is written so; a copy made by hand might hold some)
becomes a skipped outbox row, so the nudge stays planned once. Downgrading rebuilds the nudge
table from the outbox's nudge rows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 04:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NUDGES = sa.text("dedupe_key LIKE 'nudge:%'")
_WINBACKS = sa.text("category = 'winback'")
# Each kind is its own category, of the same name but the birthday's (core.nudges.KIND_CATEGORY).
_CATEGORY = "CASE n.kind WHEN 'birthday' THEN 'birthday_wishes' ELSE n.kind END"
_KIND = "CASE o.category WHEN 'birthday_wishes' THEN 'birthday' ELSE o.category END"


# SQLite's key has no name: batch mode names the reflected one by this convention to drop it.
_SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_MEMBER_FK = "outbox_member_id_fkey"  # PostgreSQL's name for the unnamed key of 0001


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("outbox", naming_convention=_SQLITE_NAMES) as batch:
            batch.drop_constraint("fk_outbox_member_id_member", type_="foreignkey")
    else:
        op.drop_constraint(_MEMBER_FK, "outbox", type_="foreignkey")
    op.create_index(
        "ix_outbox_nudge",
        "outbox",
        ["member_id", "created_at"],
        sqlite_where=_NUDGES,
        postgresql_where=_NUDGES,
    )
    op.create_index(
        "ix_outbox_winback",
        "outbox",
        ["member_id", "created_at"],
        sqlite_where=_WINBACKS,
        postgresql_where=_WINBACKS,
    )
    op.execute(
        sa.text(
            "INSERT INTO outbox (member_id, message_key, params, category, dedupe_key, status,"
            f" attempts, not_before, created_at, last_error) SELECT n.member_id,"
            f" 'nudge.' || n.kind, '{{}}', {_CATEGORY}, 'nudge:' || n.dedupe_key, 'skipped', 0,"
            " n.planned_at, n.planned_at, 'no outbox row' FROM nudge n WHERE NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'nudge:' || n.dedupe_key)"
        )
    )
    op.drop_index("ix_nudge_winback", table_name="nudge")
    op.drop_index("ix_nudge_member", table_name="nudge")
    op.drop_table("nudge")


def downgrade() -> None:
    op.create_table(
        "nudge",
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("dedupe_key"),
    )
    op.execute(
        sa.text(
            "INSERT INTO nudge (dedupe_key, member_id, kind, planned_at)"
            f" SELECT substr(o.dedupe_key, 7), o.member_id, {_KIND}, o.created_at FROM outbox o"
            " WHERE o.dedupe_key LIKE 'nudge:%' AND o.member_id IS NOT NULL"
        )
    )
    op.create_index("ix_nudge_member", "nudge", ["member_id", "planned_at"])
    op.create_index(
        "ix_nudge_winback",
        "nudge",
        ["member_id", "planned_at"],
        sqlite_where=sa.text("kind = 'winback'"),
        postgresql_where=sa.text("kind = 'winback'"),
    )
    op.drop_index("ix_outbox_winback", table_name="outbox")
    op.drop_index("ix_outbox_nudge", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.create_foreign_key(_MEMBER_FK, "member", ["member_id"], ["id"])
