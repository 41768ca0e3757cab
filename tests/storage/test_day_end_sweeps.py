"""Release and expiry with a controlled clock, on both engines: points become available, and
expire, at the end of the day in the program's time zone (New York here), not at a UTC
midnight and not at the hour they were earned."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduler import catch_up
from tests.storage.gamification_support import game_program, world

NY = ZoneInfo("America/New_York")


def test_release_and_expiry_happen_at_the_programs_midnight(migrated_url: str) -> None:
    earned = datetime(2026, 3, 2, 22, 30, tzinfo=NY)  # 03:30 UTC on 3 Mar
    with world(migrated_url, game_program(hold_days=14), at=earned) as w:
        ann = w.join("ann")
        w.buy(ann, 10000)
        assert w.balance(ann) == (5, 100, 0)  # sign-up points, and 100 pending
        w.at(datetime(2026, 3, 16, 23, 59, tzinfo=NY))  # the return window's last minute
        catch_up(w.loyalty)
        assert w.balance(ann) == (5, 100, 0)
        w.at(datetime(2026, 3, 17, 0, 0, 1, tzinfo=NY))
        catch_up(w.loyalty)
        assert w.balance(ann) == (105, 0, 0)
        # Lots live a year, to the end of their last day in New York (the 365-day default).
        last_day = (earned + timedelta(days=365)).date()
        w.at(datetime.combine(last_day, datetime.max.time(), tzinfo=NY) - timedelta(minutes=1))
        catch_up(w.loyalty)
        assert w.balance(ann)[0] == 105
        w.at(datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=NY)
             + timedelta(seconds=1))  # fmt: skip
        catch_up(w.loyalty)
        assert w.balance(ann)[0] == 0
