"""Challenges in the member's own time zone, with a controlled clock (SQLite and PostgreSQL):
streaks across local midnight and daylight saving, grace days, check-in codes of the store's
own day, and weekly windows that roll over at the member's local Monday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core import errors
from core.attempts import STORE_CODES
from core.stores import store_code
from tests.storage.gamification_support import SECRET, World, world

NEW_YORK, ISTANBUL, TOKYO = "America/New_York", "Europe/Istanbul", "Asia/Tokyo"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def streak_row(w: World, member_id: int, challenge: str = "streak") -> tuple[object, ...]:
    rows = w.rows(
        "SELECT value, streak, streak_last_day, streak_ends_at FROM challenge_progress"
        " WHERE member_id = :m AND challenge_id = :c",
        m=member_id,
        c=challenge,
    )
    assert len(rows) == 1
    value, streak, last_day, ends_at = rows[0]
    if isinstance(last_day, str):  # SQLite keeps dates and times as text
        last_day = date.fromisoformat(last_day)
        ends_at = datetime.fromisoformat(ends_at).replace(tzinfo=UTC)
    return int(value), int(streak), last_day, ends_at.astimezone(UTC)


def test_a_streak_continues_across_the_members_local_midnight(migrated_url: str) -> None:
    with world(migrated_url) as w:
        sam = w.staff()
        ayse, ann = w.join("ayse", zone=ISTANBUL), w.join("ann", zone=NEW_YORK)
        # 23:30 and 00:30 in Istanbul: one UTC day, two local days.
        for moment in (at("2026-03-04T23:30:00+03:00"), at("2026-03-05T00:30:00+03:00")):
            w.at(moment)
            w.buy(ayse, 5_00, by=sam.id)
            w.buy(ann, 5_00, by=sam.id)  # 15:30 and 16:30 in New York: the same day
        assert streak_row(w, ayse.id)[:3] == (2, 2, date(2026, 3, 5))
        assert streak_row(w, ann.id)[:3] == (1, 1, date(2026, 3, 4))


def test_a_streak_across_the_change_to_daylight_saving_time(migrated_url: str) -> None:
    with world(migrated_url) as w:
        sam, ann = w.staff(), w.join("ann", zone=NEW_YORK)
        w.at(at("2026-03-07T23:30:00-05:00"))  # Saturday night, still standard time
        w.buy(ann, 5_00, by=sam.id)
        # Alive through Sunday 8 March (clocks go forward at 02:00): it ends at midnight
        # after Sunday, which is 04:00 UTC now that New York is on daylight time.
        assert streak_row(w, ann.id)[3] == at("2026-03-09T00:00:00-04:00")
        assert streak_row(w, ann.id)[3] == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
        w.at(at("2026-03-08T23:30:00-04:00"))  # Sunday night, 23 hours later
        w.buy(ann, 5_00, by=sam.id)
        w.at(at("2026-03-09T00:15:00-04:00"))  # Monday, just after midnight
        w.buy(ann, 5_00, by=sam.id)
        value, streak, last_day, _ = streak_row(w, ann.id)
        assert (value, streak, last_day) == (3, 3, date(2026, 3, 9))
        assert w.journals(ann, "challenge:streak:") == [f"challenge:streak:{ann.id}:2026-03:0"]


def test_grace_days_forgive_a_missed_day_and_ends_tonight_shows_the_last_one(
    migrated_url: str,
) -> None:
    with world(migrated_url) as w:
        sam, ann = w.staff(), w.join("ann", zone=NEW_YORK)
        for day in (2, 4, 5):  # Monday, Wednesday, Thursday: Tuesday missed
            w.at(datetime(2026, 3, day, 17, 0, tzinfo=UTC))
            w.buy(ann, 5_00, by=sam.id)
        assert streak_row(w, ann.id, "streak")[:2] == (2, 2)  # no grace: Wed-Thu
        assert streak_row(w, ann.id, "lenient-streak")[:2] == (3, 3)  # one day forgiven
        assert w.journals(ann, "challenge:lenient-streak") != []
        assert w.journals(ann, "challenge:streak:") == []

        def board() -> dict[str, tuple[int, bool, bool]]:
            return {
                s.challenge.id: (s.streak, s.ends_tonight, s.visited_today)
                for s in w.games.challenges(ann.id)
                if s.challenge.kind.value == "streak"
            }

        w.at(datetime(2026, 3, 5, 23, 0, tzinfo=UTC))  # Thursday evening: visited today
        assert board() == {"streak": (2, False, True), "lenient-streak": (3, False, True)}
        w.at(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))  # Friday: the strict one ends tonight
        assert board() == {"streak": (2, True, False), "lenient-streak": (3, False, False)}
        w.at(datetime(2026, 3, 7, 17, 0, tzinfo=UTC))  # Saturday: the strict one is gone
        assert board() == {"streak": (0, False, False), "lenient-streak": (3, True, False)}
        w.at(datetime(2026, 3, 8, 17, 0, tzinfo=UTC))
        assert board() == {"streak": (0, False, False), "lenient-streak": (0, False, False)}


def test_yesterdays_code_and_another_stores_code_are_refused(migrated_url: str) -> None:
    # 16:00 UTC: Wednesday 11:00 at Main St (New York), already Thursday 01:00 at Harbour (Tokyo).
    with world(migrated_url, at=datetime(2026, 3, 4, 16, 0, tzinfo=UTC)) as w:
        ann = w.join("ann", zone=NEW_YORK)
        wednesday, thursday = date(2026, 3, 4), date(2026, 3, 5)
        refused = [
            (store_code(SECRET, "main-st", wednesday - timedelta(days=1)), None),  # yesterday's
            (store_code(SECRET, "harbour", wednesday), None),  # Harbour's yesterday
            (store_code(SECRET, "harbour", thursday), "main-st"),  # another store's code
            (store_code(SECRET, "main-st", thursday), "main-st"),  # tomorrow's
            ("ZZZZ", None),
        ]
        for code, store in refused:
            with pytest.raises(errors.WrongStoreCode):
                w.games.check_in(ann.id, code, store)
        assert w.rows("SELECT * FROM checkin") == []  # a wrong code changes nothing
        assert w.rows("SELECT * FROM challenge_fact") == []
        done = w.games.check_in(ann.id, store_code(SECRET, "harbour", thursday).lower())
        assert (done.checkin.store.id, done.checkin.day) == ("harbour", thursday)
        again = w.games.check_in(ann.id, store_code(SECRET, "harbour", thursday))
        assert again.checkin.duplicate and again.changes == ()
        main = w.games.check_in(ann.id, store_code(SECRET, "main-st", wednesday), "Main St")
        assert not main.checkin.duplicate and main.changes == ()  # one visit a day counts
        assert w.progress(ann)[("three-visits", "2026-W10")] == 1
        with pytest.raises(errors.UnknownStore):
            w.games.check_in(ann.id, "ABCD", "moon-base")


def test_store_codes_are_guesses_counted_per_member(migrated_url: str) -> None:
    with world(migrated_url) as w:
        ann, bea = w.join("ann"), w.join("bea")
        right = w.games.store_codes("main-st")[0].code
        w.games.check_in(ann.id, right)  # a right code is no wrong guess
        for _ in range(STORE_CODES.wrong):
            with pytest.raises(errors.WrongStoreCode):
                w.games.check_in(ann.id, "ZZZZ")
        with pytest.raises(errors.TooManyAttempts):  # even the right code waits now
            w.games.check_in(ann.id, right)
        assert not w.games.check_in(bea.id, right).checkin.duplicate  # others are not held up
        w.at(w.clock.at + STORE_CODES.window + timedelta(minutes=1))
        assert w.games.check_in(ann.id, right).checkin.duplicate  # later: allowed again


def test_a_weekly_challenge_rolls_over_at_the_members_local_monday(migrated_url: str) -> None:
    with world(migrated_url) as w:
        sam = w.staff()
        kenji, ann = w.join("kenji", zone=TOKYO), w.join("ann", zone=NEW_YORK)
        # Sunday 23:00 and Monday 00:30 in Tokyo; both Sunday 8 March in New York and in UTC.
        for moment in (at("2026-03-08T23:00:00+09:00"), at("2026-03-09T00:30:00+09:00")):
            w.at(moment)
            w.buy(kenji, 5_00, by=sam.id)
            w.buy(ann, 5_00, by=sam.id)
        visits = {k: v for k, v in w.progress(kenji).items() if k[0] == "three-visits"}
        assert visits == {("three-visits", "2026-W10"): 1, ("three-visits", "2026-W11"): 1}
        assert {k: v for k, v in w.progress(ann).items() if k[0] == "three-visits"} == {
            ("three-visits", "2026-W10"): 1
        }
        ends = w.rows(
            "SELECT window_end FROM challenge_progress WHERE member_id = :m"
            " AND challenge_id = 'three-visits' AND period = '2026-W10'",
            m=kenji.id,
        )[0][0]
        ends = datetime.fromisoformat(ends).replace(tzinfo=UTC) if isinstance(ends, str) else ends
        assert ends == at("2026-03-09T00:00:00+09:00")  # Tokyo's Monday midnight
        w.at(at("2026-03-09T09:00:00+09:00"))  # /challenges on Monday in Tokyo: a new week
        board = {s.challenge.id: s for s in w.games.challenges(kenji.id)}
        assert board["three-visits"].value == 1 and board["three-visits"].window is not None
        assert board["three-visits"].window.period == "2026-W11"
