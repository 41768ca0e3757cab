"""Domain errors: raised by the core, turned into friendly replies at the edge.

Each error carries a stable `code` and keyword `params`; the renderer owns the wording.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected, user-explainable failure in the core."""

    code = "error"

    def __init__(self, **params: object) -> None:
        super().__init__(self.code, params)
        self.params: dict[str, object] = params


class StorageUnavailable(Exception):
    """The database could not take the unit of work (unreachable, busy past every retry, full
    or read-only). Nothing was written, and the same request may well succeed later, so the
    edge answers "try again" (a chat line, an HTTP 503) instead of an unexpected failure."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "busy", "full", "read-only" or "unreachable"


class ProgramError(Exception):
    """The program file is invalid; the message names the field and what is wrong."""


class MemberNotFound(DomainError):
    code = "member_not_found"


class RewardNotFound(DomainError):
    code = "reward_not_found"


class ReceiptNotFound(DomainError):
    code = "receipt_not_found"


class NotEnrolled(DomainError):
    code = "not_enrolled"


class InsufficientPoints(DomainError):
    code = "insufficient_points"


class OutOfStock(DomainError):
    code = "out_of_stock"


class LimitReached(DomainError):
    code = "limit_reached"


class NothingToRefund(DomainError):
    code = "nothing_to_refund"


class InvalidAmount(DomainError):
    code = "invalid_amount"


class UnknownAction(DomainError):
    code = "unknown_action"


class IdempotencyConflict(DomainError):
    """The same idempotency key was used before for a different request."""

    code = "idempotency_conflict"


class RecognitionOff(DomainError):
    code = "recognition_off"


class SelfGift(DomainError):
    code = "self_gift"


class BotGift(DomainError):
    code = "bot_gift"


class GiftTooLarge(DomainError):
    code = "gift_too_large"


class AllowanceExceeded(DomainError):
    code = "allowance_exceeded"


class PairCapReached(DomainError):
    code = "pair_cap_reached"


class ValueRequired(DomainError):
    code = "value_required"


class VoucherNotFound(DomainError):
    code = "voucher_not_found"


class LinkCodeInvalid(DomainError):
    """A /link code that is unknown, used already or expired."""

    code = "link_code_invalid"


class MergeForbidden(DomainError):
    """Both memberships hold points and the program does not merge members."""

    code = "merge_forbidden"


class CustomerTaken(DomainError):
    """The external customer id is linked to another member already."""

    code = "customer_taken"


class PurchaseInFuture(DomainError):
    code = "purchase_in_future"


class PurchaseTooLarge(InvalidAmount):
    """A purchase above the program's `earning.max_purchase` (`maximum_minor`)."""

    code = "purchase_too_large"


class RefundTooLarge(InvalidAmount):
    """A refund above what is left of the purchase (`maximum_minor`)."""

    code = "refund_too_large"


class AwardTooLarge(InvalidAmount):
    """Staff goodwill above the program's `awards.max_points` (`maximum`)."""

    code = "award_too_large"


class UnreadableAmount(DomainError):
    """Money not written in the program's one accepted format (`text`, `example`, `currency`)."""

    code = "unreadable_amount"


class UnreadablePoints(DomainError):
    """A number of points that is not a plain whole number (`text`)."""

    code = "unreadable_points"


class InvalidReceipt(DomainError):
    """A receipt number that cannot key a purchase (`receipt`, `limit`)."""

    code = "invalid_receipt"


class InvalidReason(DomainError):
    """A reason that is too long or not plain text (`limit`)."""

    code = "invalid_reason"


class ConfirmationExpired(DomainError):
    """A confirm button the bot did not issue to this member for this reward, or too old."""

    code = "confirmation_expired"


class TooManyAttempts(DomainError):
    """Too many wrong guesses at a code (`limit` per `minutes`); try again `until`."""

    code = "too_many_attempts"


class UnknownTimeZone(DomainError):
    code = "unknown_time_zone"


class InvalidQuietHours(DomainError):
    code = "invalid_quiet_hours"


class UnknownCategory(DomainError):
    code = "unknown_category"


class UnknownChallenge(DomainError):
    code = "unknown_challenge"


class ChallengeNotRunning(DomainError):
    """A fixed-dates challenge outside its dates."""

    code = "challenge_not_running"


class NotOptIn(DomainError):
    """Everyone takes part in this challenge already: there is nothing to join."""

    code = "not_opt_in"


class NoStores(DomainError):
    code = "no_stores"


class UnknownStore(DomainError):
    code = "unknown_store"


class WrongStoreCode(DomainError):
    code = "wrong_store_code"


class ActionLimitReached(DomainError):
    code = "action_limit_reached"


class ActionAlreadyAwarded(DomainError):
    code = "action_already_awarded"


class ReceiptRequired(DomainError):
    code = "receipt_required"


class SelfServiceRefused(DomainError):
    code = "self_service_refused"


class LeaderboardOff(DomainError):
    code = "leaderboard_off"
