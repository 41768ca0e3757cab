"""The report's per-block flow cache (`storage.flow_cache`): a report with the cache filled
equals the report without it, and a block whose journals changed since (a late commit into
it), or that was bucketed in another zone, is summed live.

Blocks are 4 journal ids here so that a small history fills several. To show that a cached
block is used, or not, the tests add 1,000 points to its cached sums: a report that used them
would show them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from bot.report_views import report_json
from core.model import Role
from core.report_period import period_of
from core.reports import Reports
from storage import flow_cache
from storage.flow_cache import FlowCache
from storage.sql import Query
from tests.testbot import BotUnderTest

ZONE = "America/New_York"  # the coffee program's
# SQLite reports stay on the live statement (the first test shows the job writes nothing
# there): these run on PostgreSQL alone, rather than skipping on SQLite.
POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(flow_cache, "BLOCK", 4)
    yield


def _history(testbot: BotUnderTest) -> None:
    """Purchases, a refund, awards, releases, a redemption and expiries over a year."""
    testbot.person("sam", Role.STAFF)
    testbot.person("ann")
    testbot.person("bea")
    testbot.say("/earn @ann 12.40 R-1", as_="sam")
    testbot.say("/earn @bea 30 R-2", as_="sam")
    testbot.clock.advance(days=1, hours=5)
    testbot.say("/award @bea 200 great review", as_="sam")
    testbot.say("/refund R-2 10", as_="sam")
    testbot.clock.advance(days=15)
    testbot.services.loyalty.release_due()
    asked = testbot.say("/redeem cookie", as_="bea")
    testbot.say(next(b for b in asked.buttons if b.startswith("/confirm ")), as_="bea")
    testbot.say("/earn @ann 7 R-3", as_="sam")
    testbot.clock.advance(days=370)
    testbot.services.loyalty.expire_due()
    testbot.say("/award @ann 40 welcome back", as_="sam")


def _reports(testbot: BotUnderTest) -> Reports:
    reports = testbot.services.reports
    assert reports is not None
    return reports


def _figures(testbot: BotUnderTest) -> list[dict[str, Any]]:
    """The reports of the whole history, of a window in its middle, and the default one."""
    reports = _reports(testbot)
    zone = testbot.services.program.zone
    today = testbot.clock.now().astimezone(zone).date()
    periods = [
        period_of(date(2026, 11, 1), today, zone),
        period_of(date(2026, 11, 23), date(2026, 12, 10), zone),
    ]
    made = [reports.of(p) for p in periods] + [reports.for_text(None)]
    figures = [json.loads(report_json(r)) for r in made]
    for figure in figures:
        figure.pop("generated_at", None)
    return figures


def _cache(testbot: BotUnderTest, zone: str = ZONE) -> int:
    database = testbot.services.database
    cache = FlowCache(database.run_sql, database.engine.dialect.name, zone)
    return cache.refresh(testbot.clock.now() + timedelta(hours=2)).lots


def _run(testbot: BotUnderTest, text: str, params: dict[str, Any] | None = None) -> None:
    testbot.services.database.run_sql(lambda sql: sql.run(Query(text), params or {}))


def _postgresql(testbot: BotUnderTest) -> bool:
    return bool(testbot.services.database.engine.dialect.name == "postgresql")


def test_the_report_with_the_cache_equals_the_report_without(testbot: BotUnderTest) -> None:
    _history(testbot)
    live = _figures(testbot)
    written = _cache(testbot)
    assert _cache(testbot) == 0  # idempotent: nothing changed, nothing to write
    assert _figures(testbot) == live
    if not _postgresql(testbot):
        assert written == 0  # SQLite stays on the live statement
        return
    assert written >= 3
    _run(testbot, "UPDATE flow_day SET points = points + 1000")
    assert _figures(testbot) != live  # the figures above came from the cache


@POSTGRESQL_ONLY
def test_a_journal_committed_into_a_cached_block_is_summed_live(testbot: BotUnderTest) -> None:
    _history(testbot)
    ann = testbot.member("ann").id
    # A transaction that took its journal id early, and commits after the block was cached.
    with testbot.services.database.engine.connect() as late:
        at = testbot.clock.now()
        (journal,) = late.exec_driver_sql(
            "INSERT INTO journal (kind, key, request_hash, effective_at, created_at, member_id,"
            " meta) VALUES ('award', 'late-award', '', %s, %s, %s, '{}') RETURNING id",
            (at, at, ann),
        ).fetchone()  # type: ignore[misc]
        # Both legs on Ann's accounts (the ledger locks the accounts a journal posts to for
        # update, which would wait for this transaction; the awards below go to Bea).
        accounts = (("available", 5), ("pending", -5))
        for purpose, amount in accounts:
            late.exec_driver_sql(
                "INSERT INTO posting (journal_id, account_id, amount, balance_after)"
                " SELECT %s, id, %s, 0 FROM account WHERE member_id = %s AND purpose = %s",
                (journal, amount, ann, purpose),
            )
        for n in range(8):  # later journals, committed first, settle the late one's block
            testbot.say(f"/award @bea {n + 1} later", as_="sam")
        assert _cache(testbot) > 0
        late.commit()
    _run(testbot, "UPDATE flow_day SET points = points + 1000 WHERE block = :b",
         {"b": journal // 4})  # fmt: skip
    with_cache = _figures(testbot)
    _run(testbot, "DELETE FROM flow_day")
    _run(testbot, "DELETE FROM flow_block")
    assert with_cache == _figures(testbot)
    assert _cache(testbot) > 0  # the job writes the grown block again


@POSTGRESQL_ONLY
def test_a_block_bucketed_in_another_zone_is_summed_live(testbot: BotUnderTest) -> None:
    _history(testbot)
    live = _figures(testbot)
    assert _cache(testbot, zone="Asia/Kolkata") > 0
    _run(testbot, "UPDATE flow_day SET points = points + 1000")
    assert _figures(testbot) == live
    assert _cache(testbot) > 0  # the program's zone again: every block is written anew
    assert _figures(testbot) == live
