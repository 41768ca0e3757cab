"""Paid referrals: a friend joins through a member's invitation, and both are rewarded when the
friend's first qualifying purchase is recorded.

The rewards stay pending for the return window, like purchase points, and are taken back if
that purchase is refunded within it (then the next qualifying purchase may earn them again:
never more than once at a time). Referring yourself earns nothing (the same member, a shared
chat identity, or someone who was a member already), and each referrer is rewarded for at most
`monthly_cap` friends a month; past the cap the friend is still welcomed with their points.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.bonuses import Bonus, give_bonus, take_back_bonus
from core.bus import MessageBus
from core.codes import normalize_code
from core.events import MemberEnrolled, PurchaseRecorded, PurchaseRefunded
from core.gamification_model import Referral, ReferralStats, ReferralStatus
from core.members import get_member
from core.model import Member, Purpose
from core.outbox import MessageButton, OutboxMessage, Recipient
from core.ports import UnitOfWork
from core.program import Program
from core.referral_rules import Referrals

INVITE_PREFIX = "ref-"
BALANCE_BUTTON = (MessageButton(label="button.balance", command="/balance"),)


def invite_payload(member: Member) -> str:
    """The `/start` payload of a member's invitation: ref-K7Q4MX2 (deep-link safe)."""
    return INVITE_PREFIX + normalize_code(member.code)


@dataclass(frozen=True, kw_only=True)
class ReferralInfo:
    """What /refer shows: the member's invitation, the program's terms and how it went."""

    member: Member
    payload: str
    rules: Referrals | None
    stats: ReferralStats


def referral_info(uow: UnitOfWork, program: Program, member_id: int) -> ReferralInfo:
    """A member's invitation and how their invitations went."""
    member = get_member(uow, member_id)
    return ReferralInfo(
        member=member,
        payload=invite_payload(member),
        rules=program.referrals,
        stats=uow.referrals.stats(member_id),
    )


class ReferralRewards:
    """The subscriber that records referrals, rewards them and takes rewards back."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def subscribe(self, bus: MessageBus) -> None:
        """Register the handlers (none when referrals are not paid)."""
        if self.program.referrals is not None:
            bus.subscribe(MemberEnrolled, self.member_enrolled)
            bus.subscribe(PurchaseRecorded, self.purchase_recorded)
            bus.subscribe(PurchaseRefunded, self.purchase_refunded)

    def member_enrolled(self, event: MemberEnrolled, uow: UnitOfWork) -> None:
        """Record the referral (the referrer hears about it from `core.notifications`)."""
        if event.referred_by is None:
            return
        referral = Referral(
            friend_id=event.member_id, referrer_id=event.referred_by, joined_at=event.occurred_at
        )
        reason = self_referral(uow, referral)
        if reason is not None:
            referral = replace(referral, status=ReferralStatus.REFUSED, reason=reason)
        uow.referrals.add(referral)

    def purchase_recorded(self, event: PurchaseRecorded, uow: UnitOfWork) -> None:
        """The friend's first qualifying purchase rewards both sides."""
        rules = self.program.referrals
        if rules is None or event.quiet:  # imported history is no first purchase
            return
        referral = uow.referrals.pending_for(event.member_id)
        if referral is None:
            return
        if event.amount_minor < self.program.to_minor(rules.min_purchase):
            return
        if (reason := self_referral(uow, referral)) is not None:
            uow.referrals.update(replace(referral, status=ReferralStatus.REFUSED, reason=reason))
            return
        now, attempt = event.occurred_at, referral.attempts
        friend_bonus = self._give(
            uow,
            referral.friend_id,
            rules.friend_points,
            f"referral:{referral.friend_id}:friend:{attempt}",
            now,
        )
        month = self._month(now)
        referrer_bonus = None
        if uow.referrals.claim_month(referral.referrer_id, month, rules.monthly_cap):
            referrer_bonus = self._give(
                uow,
                referral.referrer_id,
                rules.referrer_points,
                f"referral:{referral.friend_id}:referrer:{attempt}",
                now,
            )
        rewarded = replace(
            referral,
            status=ReferralStatus.REWARDED,
            attempts=attempt + 1,
            receipt=event.receipt,
            purchased_at=now,
            month=month if referrer_bonus is not None else None,
            referrer_journal_id=referrer_bonus.journal_id if referrer_bonus else None,
            referrer_lot_id=referrer_bonus.lot_id if referrer_bonus else None,
            referrer_points=referrer_bonus.points if referrer_bonus else 0,
            friend_journal_id=friend_bonus.journal_id if friend_bonus else None,
            friend_lot_id=friend_bonus.lot_id if friend_bonus else None,
            friend_points=friend_bonus.points if friend_bonus else 0,
        )
        uow.referrals.update(rewarded)
        self._announce(uow, rewarded, referrer_bonus, friend_bonus, rules, now)

    def purchase_refunded(self, event: PurchaseRefunded, uow: UnitOfWork) -> None:
        """A refund of the qualifying purchase within the return window takes both back."""
        rules = self.program.referrals
        referral = uow.referrals.by_receipt(event.receipt)
        if rules is None or referral is None or referral.status is not ReferralStatus.REWARDED:
            return
        assert referral.purchased_at is not None  # a rewarded referral has its purchase
        window = timedelta(days=self.program.returns.hold_days)
        purchase = uow.purchases.get(event.receipt)
        if purchase is None or event.occurred_at > referral.purchased_at + window:
            return
        kept = purchase.amount_minor - purchase.refunded_minor
        if kept >= self.program.to_minor(rules.min_purchase) and kept > 0:
            return
        now = event.occurred_at
        for member_id, journal_id, lot_id, points in (
            (
                referral.friend_id,
                referral.friend_journal_id,
                referral.friend_lot_id,
                referral.friend_points,
            ),
            (
                referral.referrer_id,
                referral.referrer_journal_id,
                referral.referrer_lot_id,
                referral.referrer_points,
            ),
        ):
            if journal_id is not None and points:
                take_back_bonus(
                    uow,
                    self.program,
                    member_id=member_id,
                    bonus_journal_id=journal_id,
                    lot_id=lot_id,
                    points=points,
                    source=Purpose.ISSUED_REFERRAL,
                    reason="referral",
                    awarded_at=referral.purchased_at,
                    now=now,
                )
        if referral.month is not None:
            uow.referrals.release_month(referral.referrer_id, referral.month)
        uow.referrals.update(
            replace(
                referral,
                status=ReferralStatus.PENDING,
                receipt=None,
                purchased_at=None,
                month=None,
                referrer_journal_id=None,
                referrer_lot_id=None,
                referrer_points=0,
                friend_journal_id=None,
                friend_lot_id=None,
                friend_points=0,
            )
        )
        friend = get_member(uow, referral.friend_id)
        if referral.referrer_points:
            params = {"friend": friend.display_name, "points": referral.referrer_points}
            self._tell(
                uow,
                referral.referrer_id,
                "notify.referral_taken_back",
                params,
                f"referral_taken_back:{referral.friend_id}:{referral.attempts}",
                now,
            )

    def _give(
        self, uow: UnitOfWork, member_id: int, points: int, key: str, now: datetime
    ) -> Bonus | None:
        if not points:
            return None
        return give_bonus(
            uow,
            self.program,
            member_id=member_id,
            key=key,
            points=points,
            source=Purpose.ISSUED_REFERRAL,
            reason="referral",
            hold_days=self.program.returns.hold_days,
            now=now,
        )

    def _month(self, now: datetime) -> str:
        return f"{now.astimezone(self.program.zone):%Y-%m}"

    def _announce(
        self,
        uow: UnitOfWork,
        referral: Referral,
        referrer_bonus: Bonus | None,
        friend_bonus: Bonus | None,
        rules: Referrals,
        now: datetime,
    ) -> None:
        friend = get_member(uow, referral.friend_id)
        referrer = get_member(uow, referral.referrer_id)
        ref = f"{referral.friend_id}:{referral.attempts}"
        if referrer_bonus is not None:
            params: dict[str, object] = {
                "friend": friend.display_name,
                "points": referrer_bonus.points,
            }
            key = "notify.referral_rewarded"
            if referrer_bonus.pending_until is not None:
                params["date"], key = (
                    referrer_bonus.pending_until,
                    "notify.referral_rewarded_pending",
                )
            self._tell(uow, referrer.id, key, params, f"referral_rewarded:{ref}", now)
        elif rules.referrer_points:
            params = {"friend": friend.display_name, "cap": rules.monthly_cap}
            self._tell(
                uow, referrer.id, "notify.referral_capped", params, f"referral_capped:{ref}", now
            )
        if friend_bonus is not None:
            params = {"referrer": referrer.display_name, "points": friend_bonus.points}
            self._tell(
                uow, friend.id, "notify.referral_welcome", params, f"referral_welcome:{ref}", now
            )

    @staticmethod
    def _tell(
        uow: UnitOfWork,
        member_id: int,
        key: str,
        params: dict[str, object],
        dedupe: str,
        now: datetime,
    ) -> None:
        message = OutboxMessage(
            recipient=Recipient.member(member_id),
            key=key,
            params=params,
            dedupe_key=dedupe,
            buttons=(BALANCE_BUTTON,),
        )
        uow.outbox.add(message, now)


def self_referral(uow: UnitOfWork, referral: Referral) -> str | None:
    """Why a referral would reward someone for referring themselves, or None."""
    if referral.friend_id == referral.referrer_id:
        return "same_member"
    friend = uow.members.by_id(referral.friend_id)
    if friend is None or friend.created_at < referral.joined_at - timedelta(seconds=1):
        return "existing_member"  # merged into a member who was there before the invitation
    mine = _handles(uow, referral.referrer_id)
    if mine & _handles(uow, referral.friend_id):
        return "same_identity"
    return None


def _handles(uow: UnitOfWork, member_id: int) -> set[tuple[str, str]]:
    """Every (platform, id) and (platform, @username) a member is known by."""
    handles: set[tuple[str, str]] = set()
    for identity in uow.members.identities(member_id):
        handles.add((identity.platform, identity.external_id))
        if identity.username:
            handles.add((identity.platform, "@" + identity.username.lower()))
    return handles
