"""Three `loyalty run` workers on one PostgreSQL database, behind a load balancer that
re-delivers what was not acknowledged, while workers are killed, their connections cut,
PostgreSQL restarts and the platforms fail: nothing acknowledged is lost, nothing is done
twice.

The database is on a PostgreSQL server the suite creates for itself (tests/faults/server.py)
with the machine's PostgreSQL binaries, so that it may restart it; the shared test server
is never touched.

Every wait is on a condition with a deadline; nothing is timed. The figures are printed
(`pytest -s tests/faults` shows them). LOYALTY_FAULTS_SECONDS sets how long the load runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.clock import SystemClock
from bot.outbox.dispatcher import IN_FLIGHT
from core.loyalty import Loyalty
from core.program import load_program
from storage.database import SqlDatabase
from storage.migrate import upgrade
from tests.adapters.slack_support import SECRET as SLACK_SECRET
from tests.adapters.slack_support import TOKEN as SLACK_TOKEN
from tests.adapters.slack_support import program_file
from tests.api_support import SECRET as POS_SECRET
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.faults import checks
from tests.faults.balancer import Balancer, Delivery, Kind
from tests.faults.chaos import POSTGRES_RESTART, Chaos
from tests.faults.cluster import Cluster, Platforms
from tests.faults.server import PrivateServer, private_server
from tests.faults.workload import (
    COLLEAGUE_IDS,
    MEMBER_IDS,
    STAFF_IDS,
    Workload,
    admins,
    customers,
)  # fmt: skip
from tests.storage.ledger_checks import LedgerChecker

WORKERS = 3
LOAD_SECONDS = float(os.environ.get("LOYALTY_FAULTS_SECONDS", "75"))
PER_SECOND = 12  # deliveries started per second during the load
TELEGRAM_LIMIT = 30  # sends per second across the bot, as the fake enforces
BROADCAST_EACH = 8  # outbox rows per member, queued at once mid-run
# Seconds for the last deliveries to be handled once the faults stop.
SETTLE = float(os.environ.get("LOYALTY_FAULTS_SETTLE", "180"))
BLOCKED = MEMBER_IDS[:2]


@pytest.mark.timeout(540)  # load, settling and checks: about 3 minutes when nothing is lost
def test_nothing_lost_nothing_doubled_under_fire(tmp_path: Path) -> None:
    tag = f"faults{os.getpid()}"
    with (
        private_server() as server,
        FakeTelegramApi.run_in_thread() as telegram,
        FakeSlackApi.run_in_thread() as slack,
    ):
        url = server.url
        upgrade(url)
        program = program_file(tmp_path)
        database = SqlDatabase.from_url(url)
        try:
            Loyalty(database, load_program(program), SystemClock()).import_customers(customers())
            for user in COLLEAGUE_IDS:
                slack.add_user(user, user.lower())
            telegram.enforce_rate(TELEGRAM_LIMIT, per_chat_per_sec=1)
            slack.enforce_channel_rate(1)
            cluster = Cluster(
                size=WORKERS, database_url=url, program=program,
                platforms=Platforms(telegram_base_url=telegram.base_url,
                                    slack_api_url=slack.api_url),
                pos_secret=POS_SECRET, slack_token=SLACK_TOKEN, slack_secret=SLACK_SECRET,
                admins=admins(), cwd=tmp_path, tag=tag,
            )  # fmt: skip
            workload = Workload(
                slack_secret=SLACK_SECRET, slack_token=SLACK_TOKEN, team_id=slack.team_id,
                response_url=slack.response_url("faults"),
            )  # fmt: skip
            with cluster.running():
                run = asyncio.run(
                    _under_fire(cluster, telegram, slack, database.engine, workload, server)
                )
                stopped = [w.stop() for w in cluster.workers]
            assert stopped == [0] * WORKERS, "\n".join(w.log() for w in cluster.workers)
            _check(run, database.engine, cluster, telegram, slack)
        finally:
            database.dispose()


class Run:
    """What the load did: its deliveries, the faults injected and when they were."""

    def __init__(self, deliveries: list[Delivery], chaos: Chaos) -> None:
        self.deliveries = deliveries
        self.chaos = chaos


async def _under_fire(
    cluster: Cluster,
    telegram: FakeTelegramApi,
    slack: FakeSlackApi,
    engine: Engine,
    workload: Workload,
    server: PrivateServer,
) -> Run:
    balancer = Balancer(cluster.alive, slack_secret=SLACK_SECRET, pos_secret=POS_SECRET)
    try:
        await _warm_up(balancer, workload, engine)
        chaos = Chaos(
            cluster, telegram, slack, server.libpq, BLOCKED, server.restart,
            restart_after=LOAD_SECONDS / 2,  # after the broadcast is queued
        )  # fmt: skip
        faults = asyncio.create_task(chaos.run())
        give_up = time.monotonic() + LOAD_SECONDS + SETTLE / 2
        tasks: set[asyncio.Task[Delivery]] = set()
        started = time.monotonic()
        broadcast_at, broadcast_done = started + LOAD_SECONDS / 4, False
        while (elapsed := time.monotonic() - started) < LOAD_SECONDS:
            if not broadcast_done and time.monotonic() >= broadcast_at:
                await asyncio.to_thread(_broadcast, engine)
                broadcast_done = True
            delivery = workload.next()
            tasks.add(asyncio.create_task(_deliver(balancer, workload, delivery, give_up)))
            await asyncio.sleep(max(0.0, (len(balancer.deliveries) / PER_SECOND) - elapsed))
        chaos.stop()
        await faults
        # This process's own pooled connections did not survive the restart.
        await asyncio.to_thread(engine.dispose)
        for worker in cluster.workers:  # a supervisor brings every worker back
            if not worker.alive:
                await asyncio.to_thread(worker.start)
        await asyncio.gather(*tasks)
        await _settle(balancer.deliveries, engine)
        return Run(balancer.deliveries, chaos)
    finally:
        await balancer.close()


async def _deliver(
    balancer: Balancer, workload: Workload, delivery: Delivery, give_up: float
) -> Delivery:
    done = await balancer.deliver(delivery, give_up)
    if done.kind is Kind.PURCHASE and done.acked:
        workload.acknowledged_purchase(done.key)
    return done


async def _warm_up(balancer: Balancer, workload: Workload, engine: Engine) -> None:
    """Everyone joins before the faults start; then their codes and ids are known."""
    give_up = time.monotonic() + 60
    await asyncio.gather(*(balancer.deliver(d, give_up) for d in workload.warm_up()))
    balancer.deliveries.clear()
    wanted = {str(u) for u in MEMBER_IDS + STAFF_IDS}
    deadline = time.monotonic() + 60
    while True:
        rows = await asyncio.to_thread(_telegram_members, engine)
        if wanted <= rows.keys():
            break
        assert time.monotonic() < deadline, f"members never joined: {wanted - rows.keys()}"
        await asyncio.sleep(0.2)
    for user in MEMBER_IDS:
        workload.member_ids[user], workload.member_codes[user] = rows[str(user)]


def _telegram_members(engine: Engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT i.external_id, m.id, m.code FROM identity i"
            " JOIN member m ON m.id = i.member_id WHERE i.platform = 'telegram'"
        ).all()
    return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}


def _broadcast(engine: Engine) -> None:
    """Queue many messages at once, as a broadcast does: more chats than the platform's
    limit per second, so only a budget shared by all workers keeps under it."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        members = [r[0] for r in conn.exec_driver_sql(
            "SELECT member_id FROM identity WHERE platform = 'telegram' AND external_id = ANY(%s)",
            ([str(u) for u in MEMBER_IDS],),
        ).all()]  # fmt: skip
        rows = [
            {"member": member, "key": "notify.points_awarded", "dedupe": f"B-{member}-{n}",
             "params": json.dumps({"points": 1, "reason": f"B-{member * 100 + n}"}), "now": now}
            for member in members for n in range(BROADCAST_EACH)
        ]  # fmt: skip
        conn.exec_driver_sql(
            "INSERT INTO outbox (member_id, message_key, params, category, dedupe_key, status,"
            " attempts, not_before, created_at) VALUES (%(member)s, %(key)s, %(params)s,"
            " 'transactional', %(dedupe)s, 'queued', 0, %(now)s, %(now)s)",
            rows,
        )


async def _settle(deliveries: list[Delivery], engine: Engine) -> None:
    """Wait until every acknowledged delivery's effect is in the database, or the deadline
    (what is still missing then is lost, and the check says so)."""
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(checks.effects, engine)
        if not checks.missing(deliveries, found):
            return
        await asyncio.sleep(0.5)


def _spread(values: list[float]) -> str:
    """Median (min-max) of `values`."""
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def _check(
    run: Run,
    engine: Engine,
    cluster: Cluster,
    telegram: FakeTelegramApi,
    slack: FakeSlackApi,
) -> None:
    found = checks.effects(engine)
    handled = checks.handled(run.deliveries, found, checks.claimed(engine))
    facts = LedgerChecker(engine).check()  # sums, lots against balances, nothing negative
    messages = checks.sent(telegram, slack)
    peak = checks.peak(telegram.send_attempt_times(injected=False))
    peak_all = checks.peak(telegram.send_attempt_times())
    channel_peak = checks.slack_channel_peak(slack)
    overlaps = checks.leadership(cluster.workers, run.chaos.injected.terminated)
    injected = run.chaos.injected.counts
    platform_faults = Counter({f"telegram {k}": v for k, v in telegram.faults.injected.items()})
    platform_faults.update({f"slack {k}": v for k, v in slack.faults.injected.items()})
    timeouts = sum(v for k, v in platform_faults.items() if k.endswith("timeout"))
    # A message a worker sent and died (or lost its connection) before recording, or whose
    # answer timed out, may go again: at most the dispatcher's messages in flight per worker
    # and crash or cut, and one per timeout.
    cut_off = injected["pg_terminate_backend"] + WORKERS * injected[POSTGRES_RESTART]
    in_flight = IN_FLIGHT * (injected["SIGKILL"] + cut_off) + timeouts
    by_kind = Counter(str(d.kind) for d in run.deliveries if d.acked)
    print(
        "\nfault suite figures:"
        f"\n  deliveries: {len(run.deliveries)}, acknowledged {handled.acknowledged}"
        f" ({dict(by_kind)}), re-delivered {handled.redelivered}"
        f"\n  effects handled exactly once: {handled.effects_once}"
        f" (of them re-delivered: {handled.redelivered_once})"
        f"\n  faults injected: {dict(injected | platform_faults)}"
        f"\n  PostgreSQL was restarted {injected[POSTGRES_RESTART]} time(s) under load"
        f" (pg_ctl restart -m fast took {run.chaos.restart_seconds or 0:.2f} s)"
        f"\n  a worker took {_spread([t for w in cluster.workers for t in w.start_seconds])} s"
        " from its start to its first /healthz answer"
        f"\n  messages sent: telegram {messages.telegram}, slack {messages.slack};"
        f" peak telegram sends in 1 s: {peak} (limit {TELEGRAM_LIMIT};"
        f" {peak_all} counting the calls the fake failed on purpose),"
        f" peak slack posts to one channel in 1 s: {channel_peak} (limit 1)"
        f"\n  duplicates: {len(messages.duplicates)} (in-flight bound {in_flight}),"
        f" effects doubled: {len(handled.doubled)}, lost: {len(handled.lost)}"
        f"\n  duplicates: {messages.duplicates[:3]}"
        f"\n  scheduler: {checks.takeovers(cluster.workers)} times a process began to lead,"
        f" overlaps: {len(overlaps)}; ledger invariants hold"
        f" ({facts.outstanding} points outstanding)"
    )
    assert not handled.lost, (handled.lost[:20], checks.mentions(cluster.workers, handled.lost))
    assert not handled.doubled, handled.doubled[:20]
    assert handled.redelivered_once > 0  # the re-delivery path was exercised
    assert len(messages.duplicates) <= in_flight, messages.duplicates[:20]
    assert peak <= TELEGRAM_LIMIT, checks.busiest_second(telegram)
    assert not overlaps, overlaps
    assert injected["SIGKILL"] >= 3 and injected["connections terminated"] >= 1
    assert injected[POSTGRES_RESTART] == 1
