"""Notifications: the subscriber that turns domain events into outbox messages.

The one place that decides who hears about what. Services only record events; this queues the
messages in the same transaction, so a notification exists exactly when its event committed.
Every message here is a receipt of the member's own points: transactional, never opted out of.
"""

from __future__ import annotations

from core.bus import MessageBus
from core.events import GiftGiven, MemberEnrolled, PointsAwarded, PurchaseRecorded, PurchaseRefunded
from core.outbox import MessageButton, OutboxMessage, Recipient
from core.ports import UnitOfWork

BALANCE_BUTTON = (MessageButton(label="button.balance", command="/balance"),)


def subscribe(bus: MessageBus, referral_points: int | None = None) -> None:
    """Register the notification handlers; `referral_points`: what a referrer gets when their
    friend's first purchase qualifies (None: referrals are not paid)."""
    bus.subscribe(PurchaseRecorded, purchase_recorded)
    bus.subscribe(PointsAwarded, points_awarded)
    bus.subscribe(PurchaseRefunded, purchase_refunded)
    bus.subscribe(MemberEnrolled, lambda event, uow: member_enrolled(event, uow, referral_points))
    bus.subscribe(GiftGiven, gift_given)


def purchase_recorded(event: PurchaseRecorded, uow: UnitOfWork) -> None:
    """The member hears about points a staff member (or the till) recorded for them; not
    about last year's purchases a CSV import brings in."""
    if event.points and event.actor_id != event.member_id and not event.quiet:
        params: dict[str, object] = {"points": event.points, "receipt": event.receipt}
        kind = "points_earned"
        if event.pending_until is not None:  # they wait for the return window: say till when
            kind, params["until"] = "points_earned_pending", event.pending_until
        _receipt(uow, event, kind, f"earn:{event.receipt}", params)


def points_awarded(event: PointsAwarded, uow: UnitOfWork) -> None:
    """The member hears about points someone else awarded them (not their sign-up bonus)."""
    if event.actor_id is not None and event.actor_id != event.member_id:
        params = {"points": event.points, "reason": event.reason}
        _receipt(uow, event, "points_awarded", f"journal:{event.journal_id}", params)


def purchase_refunded(event: PurchaseRefunded, uow: UnitOfWork) -> None:
    """The member hears which points a refund took back."""
    if event.points:
        params = {"receipt": event.receipt, "points": event.points}
        _receipt(uow, event, "points_refunded", f"refund:{event.refund_id}", params)


def _receipt(
    uow: UnitOfWork,
    event: PurchaseRecorded | PointsAwarded | PurchaseRefunded,
    kind: str,
    ref: str,
    params: dict[str, object],
) -> None:
    """A receipt of the member's points, with a button to their balance."""
    message = OutboxMessage(
        recipient=Recipient.member(event.member_id),
        key=f"notify.{kind}",
        params=params,
        dedupe_key=f"{kind}:{ref}",
        buttons=(BALANCE_BUTTON,),
    )
    uow.outbox.add(message, event.occurred_at)


def member_enrolled(
    event: MemberEnrolled, uow: UnitOfWork, referral_points: int | None = None
) -> None:
    """Whoever invited a new member hears that their friend joined (and, when referrals are
    paid, what the friend's first purchase will bring them)."""
    if event.referred_by is None:
        return
    friend = uow.members.by_id(event.member_id)
    params: dict[str, object] = {"friend": friend.display_name if friend else ""}
    if referral_points:
        params["points"] = referral_points
    message = OutboxMessage(
        recipient=Recipient.member(event.referred_by),
        key="notify.referral_joined_paid" if referral_points else "notify.referral_joined",
        params=params,
        dedupe_key=f"referral_joined:{event.member_id}",
    )
    uow.outbox.add(message, event.occurred_at)


def gift_given(event: GiftGiven, uow: UnitOfWork) -> None:
    """The receiver of a recognition gift hears who gave it and why."""
    giver = uow.members.by_id(event.giver_id)
    message = OutboxMessage(
        recipient=Recipient.member(event.receiver_id),
        key="notify.kudos_received",
        params={
            "points": event.points,
            "giver": giver.display_name if giver else "",
            "reason": event.reason,
            "values": list(event.values),
        },
        dedupe_key=f"kudos_received:{event.key}",
    )
    uow.outbox.add(message, event.occurred_at)
