"""The message bus: events reach their handlers in order, events raised by handlers too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.bus import MessageBus
from core.events import DomainEvent, DomainEvents, MemberEnrolled, PointsAwarded, RoleChanged
from core.model import Role

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Uow:
    """Just the event collection: what the bus needs from a unit of work."""

    def __init__(self, *events: DomainEvent) -> None:
        self.domain_events = DomainEvents()
        for event in events:
            self.domain_events.record(event)


def enrolled(member_id: int) -> MemberEnrolled:
    return MemberEnrolled(occurred_at=AT, member_id=member_id, platform="telegram")


def awarded(member_id: int) -> PointsAwarded:
    return PointsAwarded(occurred_at=AT, member_id=member_id, journal_id=1, points=5, reason="x")


def test_events_reach_their_handlers_in_order_and_handler_events_follow() -> None:
    bus, seen = MessageBus(), []

    def welcome(event: MemberEnrolled, uow: Any) -> None:
        seen.append(("welcome", event.member_id))
        uow.domain_events.record(awarded(event.member_id))  # say, a sign-up bonus

    def audit(event: MemberEnrolled, uow: Any) -> None:
        seen.append(("audit", event.member_id))

    def bonus(event: PointsAwarded, uow: Any) -> None:
        seen.append(("bonus", event.member_id))

    bus.subscribe(MemberEnrolled, welcome)
    bus.subscribe(MemberEnrolled, audit)
    bus.subscribe(PointsAwarded, bonus)
    uow = Uow(enrolled(1), enrolled(2))
    bus.dispatch(uow)  # type: ignore[arg-type]
    assert seen == [
        ("welcome", 1),
        ("audit", 1),
        ("welcome", 2),
        ("audit", 2),
        ("bonus", 1),
        ("bonus", 2),
    ]
    assert uow.domain_events.next() is None  # all handled
    assert len(uow.domain_events.recorded) == 4


def test_a_handler_of_the_base_class_sees_every_event() -> None:
    bus, seen = MessageBus(), []
    bus.subscribe(DomainEvent, lambda event, uow: seen.append(type(event).__name__))
    role = RoleChanged(occurred_at=AT, member_id=1, previous=Role.MEMBER, role=Role.STAFF)
    bus.dispatch(Uow(enrolled(1), role))  # type: ignore[arg-type]
    assert seen == ["MemberEnrolled", "RoleChanged"]


def test_a_handler_that_raises_stops_the_dispatch() -> None:
    bus, seen = MessageBus(), []

    def broken(event: MemberEnrolled, uow: Any) -> None:
        raise RuntimeError("bug in a subscriber")

    bus.subscribe(MemberEnrolled, broken)
    bus.subscribe(MemberEnrolled, lambda event, uow: seen.append(event))
    with pytest.raises(RuntimeError, match="subscriber"):
        bus.dispatch(Uow(enrolled(1)))  # type: ignore[arg-type]
    assert seen == []


def test_events_are_frozen_and_built_by_keyword() -> None:
    event = enrolled(1)
    with pytest.raises(AttributeError):
        event.member_id = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        MemberEnrolled(AT, 1, "telegram")  # type: ignore[misc]
