"""`local_midnights`: the instants a report's flows are bucketed by on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.report_period import local_midnights, period_of


def test_every_local_day_touched_starts_at_its_midnight_across_a_dst_change() -> None:
    zone = ZoneInfo("America/New_York")  # clocks go back on 2026-11-01
    period = period_of(datetime(2026, 10, 31).date(), datetime(2026, 11, 2).date(), zone)
    days = local_midnights(period.start, period.end, zone)
    assert days == [
        datetime(2026, 10, 31, 4, tzinfo=UTC),
        datetime(2026, 11, 1, 4, tzinfo=UTC),
        datetime(2026, 11, 2, 5, tzinfo=UTC),
    ]
    assert days[0] == period.start  # the period's own boundaries, so buckets never straddle them


def test_a_half_hour_zone_and_a_range_ending_mid_day() -> None:
    zone = ZoneInfo("Asia/Kolkata")  # UTC+5:30: UTC hours would straddle its midnights
    start = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)  # local midnight of the 25th
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 08:30 on the 26th
    assert local_midnights(start, now, zone) == [
        datetime(2026, 11, 24, 18, 30, tzinfo=UTC),
        datetime(2026, 11, 25, 18, 30, tzinfo=UTC),
    ]
    mid_day = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # a start that is no midnight
    assert local_midnights(mid_day, now, zone)[0] == start
