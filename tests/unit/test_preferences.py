"""Time zones as people type them, quiet hours in a member's zone, and the delivery verdict."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core import errors
from core.categories import BROADCAST, TRANSACTIONAL
from core.delivery import verdict
from core.preferences import DEFAULT_QUIET_HOURS, QUIET_OFF, Preferences, QuietHours
from core.zones import parse_zone, zone_of

ISTANBUL = ZoneInfo("Europe/Istanbul")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Istanbul", "Europe/Istanbul"),
        ("europe/istanbul", "Europe/Istanbul"),
        ("Istanbul", "Europe/Istanbul"),  # a city alone; Europe wins over Asia/Istanbul
        ("new york", "America/New_York"),
        ("+03:00", "+03:00"),
        ("+3", "+03:00"),
        ("UTC+3", "+03:00"),
        ("gmt-5:30", "-05:30"),
        ("−04:00", "-04:00"),  # a typographic minus
        ("+0545", "+05:45"),
        ("utc", "UTC"),
        ("+00:00", "UTC"),
    ],
)
def test_zones_by_name_city_or_offset(typed: str, zone: str) -> None:
    assert parse_zone(typed) == zone


@pytest.mark.parametrize("typed", ["Mars/Olympus", "mars", "+15", "-13:00", "+03:75", "", "1/2"])
def test_unknown_zones_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"time zone|outside|minutes"):
        parse_zone(typed)


def test_a_stored_offset_is_a_fixed_zone_and_an_unknown_name_falls_back() -> None:
    assert zone_of("+03:00", UTC) == timezone(timedelta(hours=3))
    assert zone_of("Nowhere/City", NEW_YORK) is NEW_YORK
    assert zone_of(None, NEW_YORK) is NEW_YORK


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("22:00-08:00", time(22), time(8)),
        ("22-8", time(22), time(8)),
        ("21.30–7", time(21, 30), time(7)),
        ("13:00 to 14:15", time(13), time(14, 15)),
        ("off", time(0), time(0)),
    ],
)
def test_quiet_hours_as_typed(typed: str, start: time, end: time) -> None:
    assert QuietHours.parse(typed) == QuietHours(start=start, end=end)


@pytest.mark.parametrize("typed", ["25-3", "22:60-08:00", "evening", "22-", "9am-5pm"])
def test_nonsense_quiet_hours_are_refused(typed: str) -> None:
    with pytest.raises(errors.InvalidQuietHours) as raised:
        QuietHours.parse(typed)
    assert raised.value.params == {"text": typed}


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("at", "ends"),
    [
        (local(ISTANBUL, 2026, 11, 22, 20, 59), None),  # just before they start
        (local(ISTANBUL, 2026, 11, 22, 21, 0), local(ISTANBUL, 2026, 11, 23, 9, 0)),
        (local(ISTANBUL, 2026, 11, 22, 23, 30), local(ISTANBUL, 2026, 11, 23, 9, 0)),
        (local(ISTANBUL, 2026, 11, 23, 3, 0), local(ISTANBUL, 2026, 11, 23, 9, 0)),
        (local(ISTANBUL, 2026, 11, 23, 8, 59), local(ISTANBUL, 2026, 11, 23, 9, 0)),
        (local(ISTANBUL, 2026, 11, 23, 9, 0), None),  # the first minute after them
    ],
)
def test_default_quiet_hours_end_at_nine_the_next_morning(
    at: datetime, ends: datetime | None
) -> None:
    assert DEFAULT_QUIET_HOURS.ends_at(at.astimezone(UTC), ISTANBUL) == ends


def test_quiet_hours_within_one_day_and_none_at_all() -> None:
    lunch = QuietHours(start=time(12), end=time(13, 30))
    assert lunch.ends_at(local(NEW_YORK, 2026, 6, 1, 12, 45), NEW_YORK) == local(
        NEW_YORK, 2026, 6, 1, 13, 30
    )
    assert lunch.ends_at(local(NEW_YORK, 2026, 6, 1, 13, 30), NEW_YORK) is None
    assert QUIET_OFF.ends_at(local(NEW_YORK, 2026, 6, 1, 3, 0), NEW_YORK) is None


def test_quiet_hours_end_at_nine_local_across_a_daylight_saving_change() -> None:
    # New York springs forward on 8 March 2026: 9:00 on the 8th is 13:00 UTC, not 14:00.
    night = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # 23:00 on the 7th, EST
    ends = DEFAULT_QUIET_HOURS.ends_at(night, NEW_YORK)
    assert ends is not None and ends.astimezone(UTC) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


NIGHT = local(ISTANBUL, 2026, 11, 22, 23, 30).astimezone(UTC)
NOON = local(ISTANBUL, 2026, 11, 22, 12, 0).astimezone(UTC)


def test_transactional_messages_go_at_any_hour_even_to_members_who_opted_out() -> None:
    everything_off = Preferences(opted_out=frozenset({BROADCAST}))
    assert verdict(TRANSACTIONAL, everything_off, ISTANBUL, NIGHT).send


def test_marketing_waits_for_the_end_of_quiet_hours_in_the_members_zone() -> None:
    at_night = verdict(BROADCAST, Preferences(), ISTANBUL, NIGHT)
    assert at_night.defer_until == local(ISTANBUL, 2026, 11, 23, 9, 0)
    assert verdict(BROADCAST, Preferences(), ISTANBUL, NOON).send
    # 23:30 in Istanbul is 15:30 in New York: no quiet hours there.
    assert verdict(BROADCAST, Preferences(), NEW_YORK, NIGHT).send
    no_quiet = Preferences(quiet_hours=QUIET_OFF)
    assert verdict(BROADCAST, no_quiet, ISTANBUL, NIGHT).send


def test_an_opted_out_category_is_skipped_whatever_the_hour() -> None:
    out = Preferences(opted_out=frozenset({BROADCAST}))
    assert verdict(BROADCAST, out, ISTANBUL, NOON).skip == "opted_out:broadcast"
    assert verdict(BROADCAST, out, ISTANBUL, NIGHT).skip == "opted_out:broadcast"
