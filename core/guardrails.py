"""Guardrails: limits that refuse an award or a purchase inside its own transaction.

They are event handlers like every other effect: a refused award raises a domain error, which
rolls back the journal that raised the event, so nothing is half-written and the person who
asked reads why.
"""

from __future__ import annotations

from core import errors
from core.bus import MessageBus
from core.events import PointsAwarded, PurchaseRecorded
from core.guardrail_rules import ActionLimit, SelfService
from core.model import Role
from core.ports import UnitOfWork
from core.program import Program
from core.windows import WindowKind, local_day, window_on

_WINDOWS = {ActionLimit.WEEKLY: WindowKind.WEEKLY, ActionLimit.MONTHLY: WindowKind.MONTHLY}
_ALLOWED = {
    SelfService.NOBODY: None,
    SelfService.ADMINS: Role.ADMIN,
    SelfService.STAFF: Role.STAFF,
}


class Guardrails:
    """Refuses staff serving themselves and actions awarded more often than allowed."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.rules = program.guardrails

    def subscribe(self, bus: MessageBus) -> None:
        """Register the checks (first on the bus, so a refusal costs no other handler's work)."""
        bus.subscribe(PurchaseRecorded, self.purchase_recorded)
        bus.subscribe(PointsAwarded, self.points_awarded)

    def purchase_recorded(self, event: PurchaseRecorded, uow: UnitOfWork) -> None:
        """Staff may not record their own purchases unless the program allows them."""
        self._self_service(uow, event.actor_id, event.member_id)

    def points_awarded(self, event: PointsAwarded, uow: UnitOfWork) -> None:
        """Nor award themselves; and an action is awarded no more often than its limit."""
        self._self_service(uow, event.actor_id, event.member_id)
        limit = self.rules.action_limits.get(event.action or "")
        if event.action is None or limit is None:
            return
        period = self._period(uow, limit, event)
        if not uow.guardrails.claim_action(event.member_id, event.action, period, event.journal_id):
            if limit is ActionLimit.ONCE:
                raise errors.ActionAlreadyAwarded(action=event.action)
            shown = period.removeprefix("receipt:")
            raise errors.ActionLimitReached(action=event.action, limit=limit.value, period=shown)

    def _self_service(self, uow: UnitOfWork, actor_id: int | None, member_id: int) -> None:
        if actor_id is None or actor_id != member_id:
            return
        allowed = _ALLOWED[self.rules.self_service]
        actor = uow.members.by_id(actor_id)
        if allowed is None or actor is None or actor.role < allowed:
            raise errors.SelfServiceRefused()

    def _period(self, uow: UnitOfWork, limit: ActionLimit, event: PointsAwarded) -> str:
        """The period an award counts in: the receipt it names, or its local day/week/..."""
        if limit is ActionLimit.PER_RECEIPT:
            receipt = event.reason.strip()
            purchase = uow.purchases.get(receipt)
            if purchase is None or purchase.member_id != event.member_id:
                raise errors.ReceiptRequired(action=event.action, receipt=receipt)
            return f"receipt:{receipt}"
        day = local_day(event.occurred_at, self.program.zone)
        if limit is ActionLimit.ONCE:
            return "once"
        if limit is ActionLimit.YEARLY:
            return f"{day.year}"
        if limit is ActionLimit.DAILY:
            return day.isoformat()
        window = window_on(_WINDOWS[limit], day)
        assert window is not None  # weekly and monthly windows hold every day
        return window.period
