"""Nudge dates with a controlled clock, on SQLite and PostgreSQL: a 29 Feb birthday is kept on
28 Feb in other years (once a year), and a win-back reaches a member once per spell away
however often the planner runs in the week it may go, and again only after a new visit and
a new lapse; a member away for longer than the week after the cut-off (win-backs just turned on,
the scheduler down) still gets one, once, and the frequency cap only delays it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.birthdays import month_days, observed_on
from core.nudges import KIND_CATEGORY
from tests.storage.nudge_support import NudgeWorld, nudge_world
from tests.testbot import BotUnderTest

NY = ZoneInfo("America/New_York")


def _plan_every(nw: NudgeWorld, first: datetime, last: datetime, step: timedelta) -> None:
    at = first
    while at <= last:
        nw.plan(at)
        at += step


def _planned(nw: NudgeWorld, kind: str) -> list[date]:
    """The New York days on which nudges of `kind` were planned, in order."""
    rows = nw.w.rows(
        "SELECT created_at FROM outbox WHERE dedupe_key LIKE 'nudge:%' AND category = :c"
        " ORDER BY created_at",
        c=KIND_CATEGORY[kind],
    )
    days = []
    for (value,) in rows:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        days.append(moment.astimezone(NY).date())
    return days


def test_observed_day_of_a_29_february_birthday() -> None:
    leap_day = date(2000, 2, 29)
    assert observed_on(leap_day, 2026) == date(2026, 2, 28)
    assert observed_on(leap_day, 2028) == date(2028, 2, 29)
    assert observed_on(date(1990, 3, 14), 2027) == date(2027, 3, 14)
    assert month_days(date(2026, 2, 28)) == ["02-28", "02-29"]
    assert month_days(date(2028, 2, 28)) == ["02-28"]


def test_a_29_february_birthday_fires_on_28_february_once_a_year(migrated_url: str) -> None:
    start = datetime(2026, 2, 20, 15, 0, tzinfo=UTC)
    with nudge_world(migrated_url, at=start) as nw:
        w = nw.w
        ann = w.join("ann")
        w.loyalty.set_birthday(ann.id, date(2000, 2, 29))
        # Away since she joined: a win-back would take one of her three nudges of the week.
        w.loyalty.subscribe(ann.id, ["winback"], False)
        every = timedelta(hours=5)  # at every hour of the day over the weeks
        _plan_every(nw, datetime(2026, 2, 25, tzinfo=NY), datetime(2026, 3, 3, tzinfo=NY), every)
        assert _planned(nw, "birthday") == [date(2026, 2, 28)]
        _plan_every(nw, datetime(2027, 2, 25, tzinfo=NY), datetime(2027, 3, 3, tzinfo=NY), every)
        _plan_every(nw, datetime(2028, 2, 25, tzinfo=NY), datetime(2028, 3, 3, tzinfo=NY), every)
        assert _planned(nw, "birthday") == [date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]
        keys = w.journals(ann, "nudge:birthday")
        assert keys == [f"nudge:birthday:{ann.id}:{year}" for year in (2026, 2027, 2028)]
        assert w.balance(ann)[0] == 5 + 3 * 100  # signing up, and three birthday bonuses


def test_win_back_once_per_spell_away_and_again_after_a_new_lapse(migrated_url: str) -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with nudge_world(migrated_url, at=start) as nw:
        w = nw.w
        ann = w.join("ann")
        w.buy(ann, 100)  # her last visit, 2 Mar at 10:00 in New York
        daily = timedelta(days=1)
        morning = datetime(2026, 3, 20, 11, 0, tzinfo=NY)
        _plan_every(nw, morning, morning + 40 * daily, daily)  # every day until 29 Apr
        assert _planned(nw, "winback") == [date(2026, 4, 1)]  # 30 days away: once
        assert w.balance(ann)[0] == 5 + 1 + 40  # one bonus
        w.at(datetime(2026, 5, 5, 10, 0, tzinfo=NY))
        w.buy(ann, 100)  # back, once, then away again
        _plan_every(nw, morning + 41 * daily, morning + 100 * daily, daily)
        assert _planned(nw, "winback") == [date(2026, 4, 1), date(2026, 6, 4)]
        assert w.balance(ann)[0] == 5 + 2 + 2 * 40


def test_win_back_reaches_members_away_for_months_once_the_cap_allows(migrated_url: str) -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with nudge_world(migrated_url, at=start) as nw:
        w = nw.w
        ann, bob, dan = w.join("ann"), w.join("bob"), w.join("dan")
        w.buy(ann, 100)  # her last visit, 2 Mar; bob never bought (he joined on 2 Mar)
        w.buy(dan, 100)
        w.loyalty.set_birthday(dan.id, date(1990, 6, 1))  # more urgent than a win-back
        w.at(datetime(2026, 5, 20, 10, 0, tzinfo=NY))
        cy = w.join("cy")
        w.buy(cy, 100)  # away for 12 days only
        # The first planning run in three months (win-backs turned on, or the scheduler down).
        first = datetime(2026, 6, 1, 11, 0, tzinfo=NY)
        nw.plan(first)
        winback = set(w.rows("SELECT member_id FROM outbox WHERE category = 'winback'"))
        assert winback == {(ann.id,), (bob.id,)}
        assert _kinds(nw, dan) == ["birthday_wishes"]  # one a day: the win-back waits
        _plan_every(nw, first + timedelta(hours=4), first + timedelta(days=6), timedelta(hours=7))
        # His birthday bonus put him near a cookie, more urgent again: the win-back a day later.
        assert _kinds(nw, dan) == ["birthday_wishes", "near_reward", "winback"]
        for member in (ann, bob):
            assert _kinds(nw, member) == ["winback"]  # once per spell, however often it runs
        assert _planned(nw, "winback") == [date(2026, 6, 1), date(2026, 6, 1), date(2026, 6, 3)]
        assert "winback" not in _kinds(nw, cy)  # 30 days away only from 19 June on: then once
        nw.plan(datetime(2026, 6, 21, 11, 0, tzinfo=NY))
        assert _kinds(nw, cy) == ["winback"]
        assert w.balance(ann)[0] == 5 + 1 + 40  # one bonus


def _kinds(nw: NudgeWorld, member: object) -> list[str]:
    return [category for category, _ in nw.nudges(member)]  # type: ignore[arg-type]


def test_settings_show_the_saved_birthday(testbot: BotUnderTest) -> None:
    testbot.person("ann")
    assert "🎂" not in testbot.say("/settings", as_="ann").plain
    saved = testbot.say("/settings birthday 29 Feb", as_="ann")
    assert "🎂 Birthday: 29 Feb (/settings birthday off forgets it)" in saved.plain
    assert "🎂 Birthday: 29 Feb" in testbot.say("/settings", as_="ann").plain
    testbot.say("/settings birthday 1990-03-14", as_="ann")
    assert "🎂 Birthday: 14 Mar " in testbot.say("/settings", as_="ann").plain  # no year shown
    testbot.say("/settings language tr", as_="ann")
    assert "🎂 Doğum günü: 14 Mar" in testbot.say("/settings", as_="ann").plain
    testbot.say("/settings birthday off", as_="ann")
    assert "🎂" not in testbot.say("/settings", as_="ann").plain
