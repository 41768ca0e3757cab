"""The composition root: the one place that builds engine -> database -> core -> router.

Only this module imports `storage`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.clock import SystemClock
from bot.i18n import shipped_catalogs
from bot.render import Renderer
from bot.settings import Settings
from core.bus import MessageBus
from core.ports import Clock
from core.program import Program, load_program
from core.reports import Reports
from storage.database import SqlDatabase
from storage.readiness import DatabaseProblem, migrate_database, ready_database
from storage.repositories.reports import SqlReports

# The rest is imported by `build`: `loyalty report` (`build_reports`) starts without the
# router, its commands, the outbox, metrics, QR codes and images.
if TYPE_CHECKING:
    from bot.cards import CardTokens
    from bot.invites import InviteLinks
    from bot.metrics import Metrics
    from bot.outbox.dispatcher import Dispatcher
    from bot.outbox.pacer import Pacer
    from bot.router import Router
    from bot.scheduler import Job, Leadership, Scheduler
    from core.broadcasts import Broadcasts
    from core.deliveries import Inbound
    from core.gamification import Gamification
    from core.kudos import Kudos
    from core.loyalty import Loyalty
    from core.nudges import NudgePlanner
    from core.outbox import OutboxQueue
    from core.privacy import Privacy

__all__ = ["DatabaseProblem", "ReportServices", "Services", "build", "build_reports", "migrate"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything an adapter needs, built once per process."""

    settings: Settings
    program: Program
    database: SqlDatabase
    loyalty: Loyalty
    router: Router
    renderer: Renderer
    outbox: OutboxQueue
    cards: CardTokens
    gamification: Gamification
    # The bot's own links (the Telegram deep link once its username is known).
    invites: InviteLinks
    nudges: NudgePlanner
    broadcasts: Broadcasts
    # Recognition (Slack): gifts, allowances, their leaderboard.
    kudos: Kudos
    # Inbound deliveries kept until handled (core.deliveries).
    inbound: Inbound
    # One send budget per platform's bot token, shared by every worker (bot.outbox.pacer):
    # replies, channel posts and the outbox draw on the same one.
    pacers: dict[str, Pacer]
    # The time-driven jobs (sweeps, tier review, nudges, broadcasts): built here, started and
    # stopped by `loyalty run` (bot.platforms); only the leader's run them.
    scheduler: Scheduler
    # Decides which worker runs the scheduler's sweeps (bot.scheduler).
    leader: Leadership = field(default_factory=lambda: _sole_leader())
    # The program report and members' data rights (set by `build`).
    reports: Reports | None = None
    privacy: Privacy | None = None
    # Prometheus counters of this process (served at /metrics by bot.platforms).
    metrics: Metrics = field(default_factory=lambda: _metrics())

    def close(self) -> None:
        """Release database connections (the leader's dedicated one too)."""
        self.leader.release()
        self.database.dispose()


def _sole_leader() -> Leadership:
    from storage.leader import SoleLeader

    return SoleLeader()


def _metrics() -> Metrics:
    from bot.metrics import Metrics

    return Metrics()


@dataclass(frozen=True)
class ReportServices:
    """What `loyalty report` needs: the reports over the database, and the renderer."""

    program: Program
    database: SqlDatabase
    reports: Reports
    renderer: Renderer

    def close(self) -> None:
        """Release database connections."""
        self.database.dispose()


def build_reports(settings: Settings, clock: Clock | None = None) -> ReportServices:
    """Only the report's part of the app (read-only: no domain events, no chat): the same
    database check and program as `build`, a fraction of its imports and start-up."""
    program = load_program(settings.loyalty_program)
    upgrade = settings.database_url.startswith("sqlite")
    database = ready_database(settings.database_url, upgrade, bus=MessageBus())
    flavor = database.engine.dialect.name
    reports = Reports(SqlReports(database.run_sql, flavor), program, clock or SystemClock())
    renderer = Renderer(shipped_catalogs(), program.zone)
    return ReportServices(program=program, database=database, reports=reports, renderer=renderer)


def message_bus(program: Program | None = None) -> MessageBus:
    """Every domain-event handler of the app, one line per subscriber; they run inside the
    transaction that recorded the event (see core.bus). Without a program: notifications only."""
    from core import gamification, notifications

    bus = MessageBus()
    if program is not None:  # guardrails first: a refused award spares every other handler
        gamification.subscribe(bus, program)
    referrals = program.referrals if program is not None else None
    notifications.subscribe(bus, referrals.referrer_points if referrals else None)
    return bus


def build(settings: Settings, clock: Clock | None = None, migrate: bool | None = None) -> Services:
    """Wire the app; SQLite databases are migrated automatically (PostgreSQL on request)."""
    from bot.cards import CardTokens, derive_secret
    from bot.commands import all_commands
    from bot.commands.broadcast import commands as broadcast_commands
    from bot.invites import InviteLinks
    from bot.nonces import ConfirmNonces
    from bot.router import Router
    from bot.scheduler import broadcast_jobs, flow_cache_jobs, nudge_jobs, tier_jobs
    from core.broadcast_steps import Steps
    from core.broadcasts import Broadcasts
    from core.deliveries import Inbound
    from core.gamification import Gamification
    from core.kudos import Kudos
    from core.loyalty import Loyalty
    from core.nudges import NudgePlanner
    from core.privacy import Privacy
    from storage.broadcast_store import SqlBroadcastStore
    from storage.compose_store import SqlComposeStore
    from storage.flow_cache import FlowCache
    from storage.leader import leader_for
    from storage.nudge_store import SqlNudgeStore
    from storage.outbox_queue import SqlOutboxQueue
    from storage.repositories.privacy import SqlPrivacyStore

    program = load_program(settings.loyalty_program)
    upgrade = migrate if migrate is not None else settings.database_url.startswith("sqlite")
    database = ready_database(settings.database_url, upgrade, bus=message_bus(program))
    clock = clock or SystemClock()
    loyalty = Loyalty(database, program, clock, settings.admins)
    material = (
        settings.telegram_bot_token,
        settings.slack_signing_secret,
        settings.slack_bot_token,
    )
    cards = CardTokens(derive_secret(*material), clock)
    nonces = ConfirmNonces(derive_secret(*material, purpose=b"loyalty-confirm-v1"), clock)
    # Store codes get a key of their own, derived from the same server secret.
    games = Gamification(
        database, program, clock, derive_secret(*material, purpose=b"loyalty-store-code-v1")
    )
    invites = InviteLinks()
    catalogs = shipped_catalogs()
    nudges = NudgePlanner(SqlNudgeStore(database), database, program)
    zone = program.program.timezone
    broadcasts = Broadcasts(SqlBroadcastStore(database, zone), database, program)
    steps = Steps(SqlComposeStore(database), program)
    # /cancel comes with the step-by-step broadcast, which also leaves composing with it (and
    # otherwise drops a pending confirmation, as the member command did).
    router_commands = [c for c in all_commands() if c.name != "cancel"]
    reports = Reports(
        SqlReports(database.run_sql, database.engine.dialect.name, zone), program, clock
    )
    privacy_key = (
        settings.privacy_key.encode()
        if settings.privacy_key
        else derive_secret(*material, purpose=b"loyalty-privacy-v1")
    )
    privacy = Privacy(SqlPrivacyStore(database.run_sql), clock, privacy_key)
    kudos = Kudos(database, program, clock)
    router = Router(
        loyalty,
        [*router_commands, *broadcast_commands(broadcasts, steps)],
        cards,
        tuple(catalogs.languages),
        nonces,
        gamification=games,
        invites=invites,
        reports=reports,
        privacy=privacy,
        kudos=kudos,
    )
    metrics = watched(database, router)
    renderer = Renderer(catalogs, program.zone)
    outbox = SqlOutboxQueue(database)
    leader = leader_for(database.engine)
    inbound = Inbound(database, clock, timedelta(seconds=settings.inbound_lease_seconds))
    pacers = send_pacers(settings, database)
    jobs = [
        *tier_jobs(games),
        *nudge_jobs(nudges, clock),
        *broadcast_jobs(broadcasts, clock),
        *flow_cache_jobs(FlowCache(database.run_sql, database.engine.dialect.name, zone), clock),
    ]
    return Services(
        settings=settings,
        program=program,
        database=database,
        loyalty=loyalty,
        router=router,
        renderer=renderer,
        outbox=outbox,
        cards=cards,
        gamification=games,
        invites=invites,
        nudges=nudges,
        broadcasts=broadcasts,
        kudos=kudos,
        inbound=inbound,
        pacers=pacers,
        scheduler=scheduler(loyalty, leader, jobs, settings.scheduler_elect_seconds, metrics),
        leader=leader,
        reports=reports,
        privacy=privacy,
        metrics=metrics,
    )


def dispatcher(services: Services) -> Dispatcher:
    """The outbox dispatcher; each platform component registers its sender with the token's
    pacer (`Services.pacers`)."""
    from bot.outbox.dispatcher import Dispatcher

    return Dispatcher(
        services.outbox,
        services.database,
        services.renderer,
        services.loyalty.clock,
        channel_language=services.program.program.locale,
        lease=timedelta(seconds=services.settings.outbox_lease_seconds),
    )


def scheduler(
    loyalty: Loyalty, leader: Leadership, jobs: list[Job], elect_every: float, metrics: Metrics
) -> Scheduler:
    """The scheduler of the ledger sweeps and `jobs`, reporting its runs and its leadership
    to `metrics`."""
    from bot.scheduler import Scheduler

    built = Scheduler(loyalty, leader, jobs=jobs, elect_every=elect_every)
    built.observer = metrics.job
    metrics.leader.set_function(lambda: 1.0 if built.leading else 0.0)
    return built


def send_pacers(settings: Settings, database: SqlDatabase) -> dict[str, Pacer]:
    """A pacer per platform on the token's budget row in PostgreSQL, so the sum over the
    workers of one token stays under the platform's limit (see docs/DELIVERY.md). On SQLite
    one process serves a shop (as `storage.leader` has it): its budget stays in memory."""
    from bot.outbox.pacer import LocalBudget, Pacer, SendBudget
    from storage.send_budget import SqlSendBudget

    shared = database.engine.dialect.name == "postgresql"

    def budget(platform: str, token: str | None) -> SendBudget:
        if not shared:
            return LocalBudget()
        # Named by a digest: the token itself stays out of the database.
        digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
        return SqlSendBudget(database, f"{platform}:{digest}")

    telegram = budget("telegram", settings.telegram_bot_token)
    slack = budget("slack", settings.slack_bot_token)
    rate = settings.telegram_sends_per_second
    return {
        "telegram": Pacer(rate, 1.0, telegram, offload=shared),
        # Slack: about one message a second per channel (each person's DM is one).
        "slack": Pacer(settings.slack_sends_per_second, 1.0, slack, offload=shared),
    }


def watched(database: SqlDatabase, router: Router) -> Metrics:
    """Metrics that count the router's commands and the database's retries, and read journals
    and outbox rows from the database when scraped."""
    from bot.metrics import Metrics
    from storage.repositories.metrics import journal_counts, outbox_counts

    metrics = Metrics(frozenset(router.commands))
    router.observer = metrics.command
    database.on_retry = metrics.retried
    metrics.watch_database(
        lambda: database.run_sql(journal_counts, write=False),
        lambda: database.run_sql(outbox_counts, write=False),
    )
    return metrics


def migrate(settings: Settings) -> None:
    """Apply database migrations up to the latest (`loyalty db upgrade`)."""
    migrate_database(settings.database_url)
