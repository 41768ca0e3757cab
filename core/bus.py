"""The message bus: domain events to the handlers subscribed to them, inside the transaction.

After cosmicpython's message bus, with one difference that matters for points: handlers run in
the same unit of work as the service that recorded the event, before it commits. So a handler's
writes (a notification, a referral bonus, challenge progress) commit or roll back with the event;
a handler that raises rolls the whole transaction back; and a retried transaction, which gets a
fresh unit of work with no events, runs every handler again from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from core.events import DomainEvent
from core.ports import UnitOfWork

E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[E, UnitOfWork], None]


class MessageBus:
    """Event type -> handlers, registered once in the composition root."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[type[DomainEvent], Handler[Any]]] = []
        self._by_type: dict[type[DomainEvent], tuple[Handler[Any], ...]] = {}

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> None:
        """Call `handler(event, uow)` for every `event_type` (subclasses included)."""
        self._subscriptions.append((event_type, handler))
        self._by_type.clear()

    def handlers(self, event_type: type[DomainEvent]) -> tuple[Handler[Any], ...]:
        """The handlers of one event type, in the order they subscribed."""
        found = self._by_type.get(event_type)
        if found is None:
            found = tuple(h for t, h in self._subscriptions if issubclass(event_type, t))
            self._by_type[event_type] = found
        return found

    def dispatch(self, uow: UnitOfWork) -> None:
        """Hand every event recorded on `uow` to its handlers, oldest first; events the
        handlers record themselves join the end of the queue. Exceptions propagate."""
        events = uow.domain_events
        while (event := events.next()) is not None:
            for handler in self.handlers(type(event)):
                handler(event, uow)
