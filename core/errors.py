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


class TooManyGuesses(DomainError):
    code = "too_many_guesses"


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
