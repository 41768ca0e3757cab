"""Gamification: counted facts and challenge progress, opt-in joins, badges, check-ins, stored
tiers, referrals and their monthly caps, leaderboard scores and opt-outs, action limits.

Members who exist already get their stored tier on their next purchase (until then their tier
is worked out from their spend, as before).

Revision ID: 0007
Revises: 0008
Create Date: 2026-11-25 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str, nullable: bool = False, big: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger() if big else sa.Integer(), nullable=nullable)


def _day(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Date(), nullable=nullable)


def _member(name: str = "member_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([name], ["member.id"])


def _partial(name: str, table: str, column: str, predicate: str, unique: bool = False) -> None:
    where = sa.text(predicate)
    op.create_index(name, table, [column], unique=unique, sqlite_where=where,
                    postgresql_where=where)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "challenge_fact",
        _int("member_id"), _text("key"), _text("ref"), _text("kind"), _day("day"),
        _text("store", True), _text("action", True), _int("amount_minor", big=True),
        _when("occurred_at"),
        _member(), sa.PrimaryKeyConstraint("member_id", "key"), sqlite_with_rowid=False,
    )  # fmt: skip
    op.create_index("ix_challenge_fact_member_day", "challenge_fact", ["member_id", "day"])
    op.create_table(
        "challenge_item",
        _int("member_id"), _text("ref"), _int("line"), _day("day"), _text("sku"),
        _text("category", True), _int("amount_minor", big=True),
        _member(), sa.PrimaryKeyConstraint("member_id", "ref", "line"), sqlite_with_rowid=False,
    )  # fmt: skip
    op.create_index("ix_challenge_item_member_day", "challenge_item", ["member_id", "day"])
    op.create_table(
        "challenge_member",
        _int("member_id"), _text("challenge_id"), _when("joined_at"),
        _member(), sa.PrimaryKeyConstraint("member_id", "challenge_id"),
    )  # fmt: skip
    op.create_table(
        "challenge_progress",
        _int("member_id"), _text("period"), _text("challenge_id"), _int("value", big=True),
        _int("target", big=True), _when("window_end"), _day("last_day"),
        _when("completed_at", True), _int("reward_journal_id", True),
        _int("reward_lot_id", True), _int("reward_points"), _int("rewards"), _int("streak"),
        _day("streak_last_day", True), _when("streak_ends_at", True), _when("updated_at"),
        _member(), sa.PrimaryKeyConstraint("member_id", "period", "challenge_id"),
        sqlite_with_rowid=False,
    )  # fmt: skip
    op.create_index("ix_challenge_progress_board", "challenge_progress", ["challenge_id", "period"])
    _partial("ix_challenge_progress_open", "challenge_progress", "window_end",
             "completed_at IS NULL")  # fmt: skip
    _partial("ix_challenge_progress_streak", "challenge_progress", "streak_ends_at",
             "streak_ends_at IS NOT NULL")  # fmt: skip
    op.create_table(
        "badge",
        _int("member_id"), _text("challenge_id"), _text("period"), _text("badge_id"),
        _when("earned_at"),
        _member(), sa.PrimaryKeyConstraint("member_id", "challenge_id", "period"),
    )  # fmt: skip
    op.create_table(
        "checkin",
        _int("member_id"), _text("store_id"), _day("day"), _when("checked_in_at"),
        _member(), sa.PrimaryKeyConstraint("member_id", "store_id", "day"),
    )  # fmt: skip
    op.create_table(
        "member_tier",
        _int("member_id"), _text("tier_id"), _when("since"), _when("until", True),
        _when("counts_from", True), _text("previous_tier_id", True),
        _when("previous_until", True),
        _member(), sa.PrimaryKeyConstraint("member_id"),
    )  # fmt: skip
    _partial("ix_member_tier_until", "member_tier", "until", "until IS NOT NULL")
    op.create_table(
        "referral",
        _int("friend_id"), _int("referrer_id"), _when("joined_at"), _text("status"),
        _int("attempts"), _text("receipt", True), _when("purchased_at", True),
        _text("month", True), _int("referrer_journal_id", True),
        _int("referrer_lot_id", True), _int("referrer_points"),
        _int("friend_journal_id", True), _int("friend_lot_id", True), _int("friend_points"),
        _text("reason", True),
        _member("friend_id"), _member("referrer_id"), sa.PrimaryKeyConstraint("friend_id"),
    )  # fmt: skip
    op.create_index("ix_referral_referrer", "referral", ["referrer_id"])
    _partial("ix_referral_receipt", "referral", "receipt", "receipt IS NOT NULL", unique=True)
    op.create_table(
        "referral_month",
        _int("referrer_id"), _text("month"), _int("rewarded"),
        _member("referrer_id"), sa.PrimaryKeyConstraint("referrer_id", "month"),
    )  # fmt: skip
    op.create_table(
        "leaderboard_score",
        _text("period"), _int("member_id"), _int("points", big=True),
        _member(), sa.PrimaryKeyConstraint("period", "member_id"),
    )  # fmt: skip
    op.create_index("ix_leaderboard_score_rank", "leaderboard_score", ["period", "points"])
    op.create_table(
        "leaderboard_opt_out",
        _int("member_id"), _when("since"),
        _member(), sa.PrimaryKeyConstraint("member_id"),
    )  # fmt: skip
    op.create_table(
        "action_award",
        _int("member_id"), _text("action"), _text("period"), _int("journal_id"),
        sa.ForeignKeyConstraint(["journal_id"], ["journal.id"]), _member(),
        sa.PrimaryKeyConstraint("member_id", "action", "period"),
    )  # fmt: skip


def downgrade() -> None:
    for table in (
        "action_award", "leaderboard_opt_out", "leaderboard_score", "referral_month", "referral",
        "member_tier", "checkin", "badge", "challenge_progress", "challenge_member",
        "challenge_item", "challenge_fact",
    ):  # fmt: skip
        op.drop_table(table)
