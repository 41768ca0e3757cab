"""The schema: SQLModel tables, the single source Alembic migrations are generated from.

The repositories run hand-written SQL against these tables (see `storage.sql`); these
classes define columns, constraints and indexes, and are handy for ad-hoc tooling.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from storage.predicates import (
    AVAILABLE_OPEN,
    NUDGE_ROWS,
    PENDING_OPEN,
    VOUCHER_UNUSED,
    WINBACK_ROWS,
)
from storage.types import UTCDateTime


def _when(nullable: bool = False) -> Any:
    """A timezone-aware UTC timestamp field."""
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


def _ref(target: str, *, nullable: bool = False, index: bool = False) -> Any:
    """An integer foreign key field."""
    return Field(sa_column=Column(Integer, ForeignKey(target), nullable=nullable, index=index))


def _partial(name: str, predicate: str, *columns: str, unique: bool = False) -> Index:
    """An index restricted to rows matching `predicate`, on both engines."""
    where = text(predicate)
    return Index(name, *columns, unique=unique, sqlite_where=where, postgresql_where=where)


class MemberRow(SQLModel, table=True):
    """A person enrolled in the program."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("code", name="uq_member_code"),
        UniqueConstraint("code_key", name="uq_member_code_key"),
        Index("ix_member_referred_by", "referred_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=Text)
    # The code normalised for lookup (upper-case, no separators, O->0, I/L->1).
    code_key: str = Field(sa_type=Text)
    display_name: str = Field(sa_type=Text)
    role: int = Field(sa_type=Integer)
    language: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _when()
    referred_by: int | None = _ref("member.id", nullable=True)
    # The member's own choices; NULL means the default (their platform's or the program's
    # zone; quiet hours 21:00-09:00). Quiet hours are minutes after local midnight.
    time_zone: str | None = Field(default=None, sa_type=Text)
    quiet_start: int | None = Field(default=None, sa_type=Integer)
    quiet_end: int | None = Field(default=None, sa_type=Integer)
    # Set when /link merged this member into another: its code then finds that member.
    merged_into: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("member.id", name="fk_member_merged_into"),
            nullable=True,
            index=True,
        ),
    )
    birthday: date | None = Field(default=None, sa_type=Date)


class IdentityRow(SQLModel, table=True):
    """One chat identity (platform, external id) of a member."""

    __tablename__ = "identity"
    __table_args__ = (
        Index("ix_identity_username_key", "username_key"),
        # A member's zone as a platform told it (Slack), looked up for each member a nudge
        # kind selects: index only, and most identities (Telegram) are not in it at all.
        _partial("ix_identity_time_zone", "time_zone IS NOT NULL", "member_id", "time_zone"),
    )

    platform: str = Field(sa_type=Text, primary_key=True)
    external_id: str = Field(sa_type=Text, primary_key=True)
    member_id: int = _ref("member.id", index=True)
    username: str | None = Field(default=None, sa_type=Text)
    # Lower-cased username without '@', so lookups are case-insensitive and indexed.
    username_key: str | None = Field(default=None, sa_type=Text)
    display_name: str = Field(default="", sa_type=Text)
    language: str | None = Field(default=None, sa_type=Text)
    time_zone: str | None = Field(default=None, sa_type=Text)


class AccountRow(SQLModel, table=True):
    """A member or system account; only member accounts keep a cached balance."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("member_id", "purpose", name="uq_account_member_purpose"),
        # NULL member ids never collide in a unique constraint, so system accounts need this.
        _partial("uq_account_system_purpose", "member_id IS NULL", "purpose", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = _ref("member.id", nullable=True)
    purpose: str = Field(sa_type=Text)
    balance: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    version: int = Field(default=0, sa_type=Integer, sa_column_kwargs={"server_default": "0"})


class JournalRow(SQLModel, table=True):
    """One business event; append-only."""

    __tablename__ = "journal"
    __table_args__ = (
        UniqueConstraint("key", name="uq_journal_key"),
        Index("ix_journal_effective_at", "effective_at"),  # reports: period scans
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=Text)
    key: str = Field(sa_type=Text)
    request_hash: str = Field(sa_type=Text)
    effective_at: datetime = _when()
    created_at: datetime = _when()
    member_id: int | None = _ref("member.id", nullable=True)
    actor_id: int | None = _ref("member.id", nullable=True)
    reverses_id: int | None = _ref("journal.id", nullable=True)
    meta: str = Field(default="{}", sa_type=Text)  # JSON object


class PostingRow(SQLModel, table=True):
    """One leg of a journal; append-only."""

    __tablename__ = "posting"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="ck_posting_amount_nonzero"),
        Index("ix_posting_account_id", "account_id", "id"),
        Index("ix_posting_journal_id", "journal_id"),  # reports: a period's postings
    )

    id: int | None = Field(default=None, primary_key=True)
    journal_id: int = _ref("journal.id")
    account_id: int = _ref("account.id")
    amount: int = Field(sa_type=BigInteger)
    balance_after: int | None = Field(default=None, sa_type=BigInteger)


class LotRow(SQLModel, table=True):
    """Points earned together, tracked until spent or expired."""

    __tablename__ = "lot"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="ck_lot_remaining"),
        _partial("ix_lot_member_available", AVAILABLE_OPEN, "member_id", "expires_at", "id"),
        _partial("ix_lot_member_pending", PENDING_OPEN, "member_id", "available_at", "id"),
        _partial("ix_lot_expiry_due", AVAILABLE_OPEN, "expires_at", "id"),
        _partial("ix_lot_release_due", PENDING_OPEN, "available_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = _ref("member.id")
    journal_id: int = _ref("journal.id")
    amount: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    state: str = Field(sa_type=Text)
    earned_at: datetime = _when()
    available_at: datetime = _when()
    expires_at: datetime = _when()


class LotMovementRow(SQLModel, table=True):
    """Which lot gave how much to which journal."""

    __tablename__ = "lot_movement"
    __table_args__ = (Index("ix_lot_movement_lot", "lot_id"),)

    id: int | None = Field(default=None, primary_key=True)
    journal_id: int = _ref("journal.id")
    lot_id: int = _ref("lot.id")
    amount: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=Text)


class PurchaseRow(SQLModel, table=True):
    """A purchase that earned points, with what has been refunded so far."""

    __tablename__ = "purchase"
    __table_args__ = (
        Index("ix_purchase_member_occurred", "member_id", "occurred_at"),
        Index("ix_purchase_occurred_at", "occurred_at"),  # reports' active members
    )

    receipt: str = Field(sa_type=Text, primary_key=True)
    member_id: int = _ref("member.id")
    amount_minor: int = Field(sa_type=BigInteger)
    points: int = Field(sa_type=BigInteger)
    lot_id: int | None = _ref("lot.id", nullable=True)
    journal_id: int = _ref("journal.id")
    occurred_at: datetime = _when()
    refunded_minor: int = Field(default=0, sa_type=BigInteger)
    refunded_points: int = Field(default=0, sa_type=BigInteger)
    store: str | None = Field(default=None, sa_type=Text)
    channel: str | None = Field(default=None, sa_type=Text)


class PurchaseDayRow(SQLModel, table=True):
    """A member's purchases on one UTC day, net of refunds: what tier qualification sums.

    Kept by the purchase repository with one upsert per purchase and per refund (a refund
    counts on its purchase's day), so the rolling window reads at most one row per day.
    """

    __tablename__ = "purchase_day"

    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id"), primary_key=True, nullable=False)
    )
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    spend_minor: int = Field(default=0, sa_type=BigInteger)
    points: int = Field(default=0, sa_type=BigInteger)


class FlowBlockRow(SQLModel, table=True):
    """A block of journal ids (id // 16384) whose flows `flow_day` caches for the reports:
    how many journals it held then, and the zone their local days were taken in."""

    __tablename__ = "flow_block"

    block: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    journals: int = Field(sa_type=Integer)
    zone: str = Field(sa_type=Text)
    first_at: datetime = _when()
    last_at: datetime = _when()


class FlowDayRow(SQLModel, table=True):
    """A cached block's postings summed per local day (its midnight), kind and purpose."""

    __tablename__ = "flow_day"

    block: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True, nullable=False))
    kind: str = Field(sa_type=Text, primary_key=True)
    purpose: str = Field(sa_type=Text, primary_key=True)
    points: int = Field(default=0, sa_type=BigInteger)


class RewardStockRow(SQLModel, table=True):
    """How many units of a stocked reward were taken."""

    __tablename__ = "reward_stock"

    reward_id: str = Field(sa_type=Text, primary_key=True)
    taken: int = Field(default=0, sa_type=Integer)


class RedemptionRow(SQLModel, table=True):
    """A reward a member redeemed, with its voucher."""

    __tablename__ = "redemption"
    __table_args__ = (
        UniqueConstraint("voucher", name="uq_redemption_voucher"),
        UniqueConstraint("journal_id", name="uq_redemption_journal"),
        Index("ix_redemption_member_reward", "member_id", "reward_id"),
        _partial("ix_redemption_unused_due", VOUCHER_UNUSED, "valid_until", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = _ref("member.id")
    reward_id: str = Field(sa_type=Text)
    points: int = Field(sa_type=BigInteger)
    voucher: str = Field(sa_type=Text)
    journal_id: int = _ref("journal.id")
    created_at: datetime = _when()
    valid_until: datetime = _when()
    # Used once at the counter (when, by which staff member, in which store) ...
    used_at: datetime | None = _when(nullable=True)
    used_by: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("member.id", name="fk_redemption_used_by"), nullable=True
        ),
    )
    used_store: str | None = Field(default=None, sa_type=Text)
    # ... or expired unused, and its points went back to the member.
    returned_at: datetime | None = _when(nullable=True)


class LinkCodeRow(SQLModel, table=True):
    """A one-time /link code: another chat identity sending it joins this member."""

    __tablename__ = "link_code"
    __table_args__ = (Index("ix_link_code_member", "member_id"),)

    code: str = Field(sa_type=Text, primary_key=True)
    member_id: int = _ref("member.id")
    expires_at: datetime = _when()


class InboundDeliveryRow(SQLModel, table=True):
    """An inbound update or event: kept (with its payload) until the command that handles it
    commits, then `done`, so a redelivery is ignored and a lost handling is taken over."""

    __tablename__ = "inbound_delivery"
    __table_args__ = (_partial("ix_inbound_delivery_pending", "state = 'pending'", "lease_until"),)

    key: str = Field(sa_type=Text, primary_key=True)
    received_at: datetime = _when()
    state: str = Field(
        default="pending", sa_column=Column(Text, nullable=False, server_default="done")
    )
    holder: str | None = Field(default=None, sa_type=Text)
    lease_until: datetime | None = _when(nullable=True)
    payload: str | None = Field(default=None, sa_type=Text)


class SendBudgetRow(SQLModel, table=True):
    """The next free send slot of one bot token (seconds since the epoch), shared by every
    worker: see storage.send_budget."""

    __tablename__ = "send_budget"

    name: str = Field(sa_type=Text, primary_key=True)
    next_at: float = Field(sa_type=Float)


class AttemptRow(SQLModel, table=True):
    """Wrong guesses one person made at one kind of code in the current window."""

    __tablename__ = "attempt"

    kind: str = Field(sa_type=Text, primary_key=True)  # "card", "member_code", ...
    subject: str = Field(sa_type=Text, primary_key=True)  # "member:12" or "telegram:123"
    window_start: datetime = _when()
    wrong: int = Field(default=0, sa_type=Integer)


class OutboxRow(SQLModel, table=True):
    """A message to send on the bot's own initiative: a catalog key and parameters for a member
    or a channel, with optional buttons and an image (by digest), in a category."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        Index("ix_outbox_due", "status", "not_before", "id"),
        # A nudge's only record is its outbox row (its dedupe key "nudge:<kind>:<member>:<ref>"
        # and its category name it): the frequency cap counts a member's nudges of the last
        # day and week (index only), and the win-back query reads each member's win-backs in
        # time order, merged with the members.
        _partial("ix_outbox_nudge", NUDGE_ROWS, "member_id", "created_at"),
        _partial("ix_outbox_winback", WINBACK_ROWS, "member_id", "created_at"),
        CheckConstraint(
            "(member_id IS NOT NULL AND channel_platform IS NULL AND channel_id IS NULL)"
            " OR (member_id IS NULL AND channel_platform IS NOT NULL AND channel_id IS NOT NULL)",
            name="ck_outbox_recipient",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A member's id, without a foreign key: members are never deleted (erasure and merging keep
    # the row), and every writer takes the id from a member row; the check cost a lookup and a
    # lock on the member's row per message (a third of writing a day's nudges).
    member_id: int | None = Field(default=None, sa_type=Integer)
    channel_platform: str | None = Field(default=None, sa_type=Text)
    channel_id: str | None = Field(default=None, sa_type=Text)
    message_key: str = Field(sa_type=Text)  # catalog key
    params: str = Field(default="{}", sa_type=Text)  # JSON object
    buttons: str | None = Field(default=None, sa_type=Text)  # JSON rows of buttons
    image_digest: str | None = Field(
        default=None,
        sa_column=Column(
            Text,
            ForeignKey("outbox_image.digest", name="fk_outbox_image_digest"),
            nullable=True,
        ),
    )
    category: str = Field(
        default="transactional",
        sa_type=Text,
        sa_column_kwargs={"server_default": "transactional"},
    )
    dedupe_key: str = Field(sa_type=Text)
    # queued, sent, failed, blocked, skipped or deferred (core.outbox.OutboxStatus)
    status: str = Field(
        default="queued", sa_type=Text, sa_column_kwargs={"server_default": "queued"}
    )
    attempts: int = Field(default=0, sa_type=Integer, sa_column_kwargs={"server_default": "0"})
    # Never NULL (defaults to the enqueue time) so the (status, not_before) index is a range.
    not_before: datetime = _when()
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, sa_type=Text)  # why it failed, was skipped...


class OutboxImageRow(SQLModel, table=True):
    """An image outbox messages show, stored once by the SHA-256 of its bytes."""

    __tablename__ = "outbox_image"

    digest: str = Field(sa_type=Text, primary_key=True)
    content_type: str = Field(sa_type=Text)
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = _when()


class OptOutRow(SQLModel, table=True):
    """A marketing category a member does not want messages of."""

    __tablename__ = "opt_out"

    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id"), primary_key=True, nullable=False)
    )
    category: str = Field(sa_type=Text, primary_key=True)
    since: datetime = _when()


class UnreachableRow(SQLModel, table=True):
    """A member who blocked the bot on a platform: the outbox stops writing to them there."""

    __tablename__ = "unreachable"

    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id"), primary_key=True))
    platform: str = Field(sa_type=Text, primary_key=True)
    since: datetime = _when()


class AllowanceRow(SQLModel, table=True):
    """What a member gave colleagues from their recognition allowance in one period."""

    __tablename__ = "allowance"

    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id"), primary_key=True, nullable=False)
    )
    period: str = Field(sa_type=Text, primary_key=True)  # "2026-11", in the giver's zone
    spent: int = Field(default=0, sa_type=BigInteger)


class GiftRow(SQLModel, table=True):
    """One recognition gift from a giver to a colleague."""

    __tablename__ = "gift"
    __table_args__ = (
        UniqueConstraint("journal_id", name="uq_gift_journal"),
        Index("ix_gift_pair_day", "giver_id", "receiver_id", "day"),
        Index("ix_gift_given_at", "given_at"),
    )

    key: str = Field(sa_type=Text, primary_key=True)
    journal_id: int = _ref("journal.id")
    giver_id: int = _ref("member.id")
    receiver_id: int = _ref("member.id")
    points: int = Field(sa_type=BigInteger)
    value_tags: str = Field(default="[]", sa_type=Text)  # JSON list; VALUES is reserved in SQL
    reason: str = Field(default="", sa_type=Text)
    period: str = Field(sa_type=Text)
    day: str = Field(sa_type=Text)
    lot_id: int | None = _ref("lot.id", nullable=True)
    given_at: datetime = _when()
    revoked: bool = Field(
        default=False, sa_type=Boolean, sa_column_kwargs={"server_default": false()}
    )
    # Where it was given: a Slack channel id and, when Slack named it, the channel's name (never
    # a direct message's: those stay NULL). Recognition by team is read from these.
    channel: str | None = Field(default=None, sa_type=Text)
    channel_name: str | None = Field(default=None, sa_type=Text)


def _member_key() -> Any:
    """A member id that is part of the primary key."""
    return Field(
        sa_column=Column(Integer, ForeignKey("member.id"), primary_key=True, nullable=False)
    )


class ChallengeFactRow(SQLModel, table=True):
    """One event counted towards challenges (a purchase, a refund of one, a check-in, an action),
    on the member's local day; a refund shares its purchase's `ref`."""

    __tablename__ = "challenge_fact"
    # On SQLite the rows live in their primary key's b-tree (WITHOUT ROWID): one b-tree fewer to
    # write on every purchase, and a member's facts side by side.
    __table_args__ = (
        Index("ix_challenge_fact_member_day", "member_id", "day"),
        {"sqlite_with_rowid": False},
    )

    member_id: int = _member_key()
    key: str = Field(sa_type=Text, primary_key=True)
    ref: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    day: date = Field(sa_column=Column(Date, nullable=False))
    store: str | None = Field(default=None, sa_type=Text)
    action: str | None = Field(default=None, sa_type=Text)
    amount_minor: int = Field(default=0, sa_type=BigInteger)
    occurred_at: datetime = _when()


class ChallengeItemRow(SQLModel, table=True):
    """One line of a counted purchase (products and categories for challenges)."""

    __tablename__ = "challenge_item"
    __table_args__ = (
        Index("ix_challenge_item_member_day", "member_id", "day"),
        {"sqlite_with_rowid": False},
    )

    member_id: int = _member_key()
    ref: str = Field(sa_type=Text, primary_key=True)
    line: int = Field(sa_type=Integer, primary_key=True)
    day: date = Field(sa_column=Column(Date, nullable=False))
    sku: str = Field(sa_type=Text)
    category: str | None = Field(default=None, sa_type=Text)
    amount_minor: int = Field(default=0, sa_type=BigInteger)


class ChallengeMemberRow(SQLModel, table=True):
    """A member who joined an opt-in challenge."""

    __tablename__ = "challenge_member"

    member_id: int = _member_key()
    challenge_id: str = Field(sa_type=Text, primary_key=True)
    joined_at: datetime = _when()


class ChallengeProgressRow(SQLModel, table=True):
    """A member's progress on one challenge in one period (`value` of `target`)."""

    __tablename__ = "challenge_progress"
    # No index holds `value`, which every counted event changes: updating a row then touches
    # no index on SQLite (WITHOUT ROWID: the row is its key's b-tree entry) and stays a HOT
    # update on PostgreSQL. A leaderboard by challenge sorts one period's rows instead.
    __table_args__ = (
        Index("ix_challenge_progress_board", "challenge_id", "period"),
        _partial("ix_challenge_progress_open", "completed_at IS NULL", "window_end"),
        _partial("ix_challenge_progress_streak", "streak_ends_at IS NOT NULL", "streak_ends_at"),
        {"sqlite_with_rowid": False},
    )

    member_id: int = _member_key()
    # The key's order lets one member's periods be read with a seek each.
    period: str = Field(sa_type=Text, primary_key=True)
    challenge_id: str = Field(sa_type=Text, primary_key=True)
    value: int = Field(default=0, sa_type=BigInteger)
    target: int = Field(sa_type=BigInteger)
    window_end: datetime = _when()
    last_day: date = Field(sa_column=Column(Date, nullable=False))
    completed_at: datetime | None = _when(nullable=True)
    reward_journal_id: int | None = Field(default=None, sa_type=Integer)
    reward_lot_id: int | None = Field(default=None, sa_type=Integer)
    reward_points: int = Field(default=0, sa_type=Integer)
    rewards: int = Field(default=0, sa_type=Integer)
    streak: int = Field(default=0, sa_type=Integer)
    streak_last_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    streak_ends_at: datetime | None = _when(nullable=True)
    updated_at: datetime = _when()


class BadgeRow(SQLModel, table=True):
    """A badge a member earned by completing a challenge in a period."""

    __tablename__ = "badge"

    member_id: int = _member_key()
    challenge_id: str = Field(sa_type=Text, primary_key=True)
    period: str = Field(sa_type=Text, primary_key=True)
    badge_id: str = Field(sa_type=Text)
    earned_at: datetime = _when()


class CheckinRow(SQLModel, table=True):
    """A member's check-in at a store on the store's local day: one per day."""

    __tablename__ = "checkin"

    member_id: int = _member_key()
    store_id: str = Field(sa_type=Text, primary_key=True)
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    checked_in_at: datetime = _when()


class MemberTierRow(SQLModel, table=True):
    """A member's tier by stable tier id, held until `until` (NULL: the base tier)."""

    __tablename__ = "member_tier"
    __table_args__ = (_partial("ix_member_tier_until", "until IS NOT NULL", "until"),)

    member_id: int = _member_key()
    tier_id: str = Field(sa_type=Text)
    since: datetime = _when()
    until: datetime | None = _when(nullable=True)
    counts_from: datetime | None = _when(nullable=True)
    previous_tier_id: str | None = Field(default=None, sa_type=Text)
    previous_until: datetime | None = _when(nullable=True)


class ReferralRow(SQLModel, table=True):
    """A friend who joined through a member's invitation, and the rewards it gave."""

    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_referrer", "referrer_id"),
        _partial("ix_referral_receipt", "receipt IS NOT NULL", "receipt", unique=True),
    )

    friend_id: int = _member_key()
    referrer_id: int = _ref("member.id")
    joined_at: datetime = _when()
    status: str = Field(sa_type=Text)
    attempts: int = Field(default=0, sa_type=Integer)
    receipt: str | None = Field(default=None, sa_type=Text)
    purchased_at: datetime | None = _when(nullable=True)
    month: str | None = Field(default=None, sa_type=Text)
    referrer_journal_id: int | None = Field(default=None, sa_type=Integer)
    referrer_lot_id: int | None = Field(default=None, sa_type=Integer)
    referrer_points: int = Field(default=0, sa_type=Integer)
    friend_journal_id: int | None = Field(default=None, sa_type=Integer)
    friend_lot_id: int | None = Field(default=None, sa_type=Integer)
    friend_points: int = Field(default=0, sa_type=Integer)
    reason: str | None = Field(default=None, sa_type=Text)


class ReferralMonthRow(SQLModel, table=True):
    """How many referrals rewarded a referrer in one month (the monthly cap)."""

    __tablename__ = "referral_month"

    referrer_id: int = _member_key()
    month: str = Field(sa_type=Text, primary_key=True)
    rewarded: int = Field(default=0, sa_type=Integer)


class LeaderboardScoreRow(SQLModel, table=True):
    """Points a member earned in one leaderboard period."""

    __tablename__ = "leaderboard_score"
    __table_args__ = (Index("ix_leaderboard_score_rank", "period", "points"),)

    period: str = Field(sa_type=Text, primary_key=True)
    member_id: int = _member_key()
    points: int = Field(default=0, sa_type=BigInteger)


class LeaderboardOptOutRow(SQLModel, table=True):
    """A member who does not appear on leaderboards to others."""

    __tablename__ = "leaderboard_opt_out"

    member_id: int = _member_key()
    since: datetime = _when()


class ActionAwardRow(SQLModel, table=True):
    """A program action awarded to a member in a period (guardrails' limits)."""

    __tablename__ = "action_award"

    member_id: int = _member_key()
    action: str = Field(sa_type=Text, primary_key=True)
    period: str = Field(sa_type=Text, primary_key=True)
    journal_id: int = _ref("journal.id")


class BroadcastRow(SQLModel, table=True):
    """A message staff send to a segment: draft, scheduled, sending, done or cancelled."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_status", "status", "scheduled_at"),)

    id: int | None = Field(default=None, primary_key=True)
    author_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("member.id", name="fk_broadcast_author"), nullable=True
        ),
    )
    segment: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    holdout_percent: int = Field(sa_type=Integer)
    status: str = Field(sa_type=Text)
    audience: int | None = Field(default=None, sa_type=Integer)
    holdout: int | None = Field(default=None, sa_type=Integer)
    created_at: datetime = _when()
    scheduled_at: datetime | None = _when(nullable=True)
    started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
    lift_7_at: datetime | None = _when(nullable=True)
    lift_30_at: datetime | None = _when(nullable=True)
    report: str | None = Field(default=None, sa_type=Text)  # the delivery counts, as JSON


class BroadcastMemberRow(SQLModel, table=True):
    """A member of a broadcast's audience as drawn when it started; `holdout` got nothing."""

    __tablename__ = "broadcast_member"

    broadcast_id: int = Field(
        sa_column=Column(Integer, ForeignKey("broadcast.id"), primary_key=True, nullable=False)
    )
    member_id: int = _member_key()
    holdout: bool = Field(
        default=False, sa_type=Boolean, sa_column_kwargs={"server_default": false()}
    )


class BroadcastComposeRow(SQLModel, table=True):
    """Where a staff member is in composing a broadcast step by step (`core.broadcast_steps`)."""

    __tablename__ = "broadcast_compose"

    author_id: int = _member_key()
    step: str = Field(sa_type=Text)
    segment: str | None = Field(default=None, sa_type=Text)
    holdout_percent: int = Field(sa_type=Integer)
    expires_at: datetime = _when()


class ForgottenIdentityRow(SQLModel, table=True):
    """A chat identity whose member asked to be forgotten, by a keyed hash of the identity (the
    id itself is erased): adapters do not enrol it again until it sends /start."""

    __tablename__ = "forgotten_identity"

    identity_hash: str = Field(sa_type=Text, primary_key=True)
    forgotten_at: datetime = _when()


class PrivacyAuditRow(SQLModel, table=True):
    """Who exported or erased which member's data, and when (ids only)."""

    __tablename__ = "privacy_audit"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(sa_type=Text)  # "export" or "forget"
    member_id: int = Field(sa_type=Integer)
    actor_id: int | None = Field(default=None, sa_type=Integer)
    at: datetime = _when()


metadata = SQLModel.metadata
