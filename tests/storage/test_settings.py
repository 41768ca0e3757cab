"""A member's settings over a real database: time zone, quiet hours, categories, language."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from core import categories, errors
from core.loyalty import Loyalty
from core.model import Identity
from core.preferences import QuietHours, ZoneSource
from storage.database import SqlDatabase
from tests.storage.ledger_checks import ManualClock, make_program

NOON_UTC = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_defaults_then_choices_then_back_to_the_defaults(db: SqlDatabase) -> None:
    app = Loyalty(db, make_program(), ManualClock(NOON_UTC))  # the program lives in Berlin
    ann = app.enroll(Identity(platform="telegram", external_id="1", display_name="Ann")).member.id
    start = app.settings(ann)
    assert (start.zone, start.zone_source, start.default_zone) == (
        "Europe/Berlin",
        ZoneSource.PROGRAM,
        "Europe/Berlin",
    )
    assert start.local_now.hour == 13  # 12:00 UTC is 13:00 in Berlin in November
    assert (start.quiet_hours, start.quiet_default) == (
        QuietHours(start=time(21), end=time(9)),
        True,
    )
    assert start.subscriptions == tuple((c, True) for c in categories.MARKETING)
    assert start.subscriptions[0] == ("broadcast", True)

    app.set_language(ann, "tr")
    app.set_time_zone(ann, "+03:00")
    app.set_quiet_hours(ann, "22:30-07:15")
    chosen = app.subscribe(ann, ["broadcast"], receive=False)
    assert chosen.member.language == "tr"
    assert (chosen.zone, chosen.zone_source, chosen.local_now.hour) == ("+03:00", "member", 15)
    assert (chosen.quiet_hours, chosen.quiet_default) == (
        QuietHours(start=time(22, 30), end=time(7, 15)),
        False,
    )
    assert dict(chosen.subscriptions) == {c: c != "broadcast" for c in categories.MARKETING}

    app.set_time_zone(ann, None)
    back = app.set_quiet_hours(ann, None)
    assert (back.zone, back.quiet_default) == ("Europe/Berlin", True)
    assert dict(back.subscriptions)["broadcast"] is False  # an opt-out stays until opted in


def test_a_slack_profile_zone_holds_until_the_member_chooses_one(db: SqlDatabase) -> None:
    app = Loyalty(db, make_program(), ManualClock(NOON_UTC))
    slack = Identity(platform="slack", external_id="U1", display_name="Cem", time_zone="Asia/Tokyo")
    cem = app.enroll(slack).member.id
    found = app.settings(cem)
    assert (found.zone, found.zone_source, found.local_now.hour) == (
        "Asia/Tokyo",
        ZoneSource.PLATFORM,
        21,
    )
    chosen = app.set_time_zone(cem, "istanbul")
    assert (chosen.zone, chosen.default_zone) == ("Europe/Istanbul", "Asia/Tokyo")


def test_bad_choices_are_refused_and_change_nothing(db: SqlDatabase) -> None:
    app = Loyalty(db, make_program(), ManualClock(NOON_UTC))
    ann = app.enroll(Identity(platform="telegram", external_id="1", display_name="Ann")).member.id
    before = app.settings(ann)
    with pytest.raises(errors.UnknownTimeZone) as zone:
        app.set_time_zone(ann, "Atlantis")
    assert zone.value.params == {"text": "Atlantis"}
    with pytest.raises(errors.InvalidQuietHours):
        app.set_quiet_hours(ann, "after dinner")
    with pytest.raises(errors.UnknownCategory) as category:
        app.subscribe(ann, ["transactional"], receive=False)  # receipts cannot be refused
    assert category.value.params == {
        "category": "transactional",
        "known": list(categories.MARKETING),
    }
    assert app.settings(ann) == before
