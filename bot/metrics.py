"""Prometheus metrics of one bot process, and `GET /metrics` on the shared HTTP server.

Counters live in a registry of the process's own (not prometheus-client's global one), built by
the composition root and handed to the parts that count: the router (commands by name and
outcome, reply latency), the outbox dispatcher (messages by platform, category and outcome;
429s), the scheduler (job runs and durations) and the database (transactions retried). What
the database knows across every worker (journals by kind, outbox rows waiting) is read when
Prometheus scrapes, by one grouped statement each.

`METRICS_ENABLED=false` leaves the route out; with `METRICS_TOKEN` set, the route answers only
`Authorization: Bearer <token>` (401 otherwise).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

# Replies are computed in a few milliseconds; the tail is what an operator watches.
REPLY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)


# (kind, journals) and (platform, category, status, messages), read at scrape time.
JournalCounts = Callable[[], list[tuple[str, int]]]
OutboxCounts = Callable[[], list[tuple[str, str, str, int]]]


class Metrics:
    """The process's counters and histograms, with the callbacks that fill them."""

    def __init__(self, known_commands: frozenset[str] = frozenset()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Command names come from chat input: anything not a command is counted as "unknown".
        self._known = known_commands
        self.commands = Counter(
            "loyalty_commands",
            "Chat commands handled, by command and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.reply_seconds = Histogram(
            "loyalty_reply_seconds",
            "Time from a chat command to its reply model (router and core, one transaction)",
            ["command"],
            buckets=REPLY_BUCKETS,
            registry=self.registry,
        )
        self.outbox = Counter(
            "loyalty_outbox_messages",
            "Outbox messages settled by the dispatcher, by platform, category and status",
            ["platform", "category", "status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "loyalty_rate_limited",
            "429 answers (retry later) seen from a platform",
            ["platform"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "loyalty_scheduler_job_runs",
            "Scheduler job runs by job and outcome (skipped: another worker leads)",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "loyalty_scheduler_job_seconds",
            "Duration of scheduler job runs",
            ["job"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )
        self.leader = Gauge(
            "loyalty_scheduler_leader",
            "1 while this process runs the scheduler's jobs",
            registry=self.registry,
        )
        self.db_retries = Counter(
            "loyalty_db_retries",
            "Database transactions retried after a transient failure",
            registry=self.registry,
        )

    def command(self, name: str, outcome: str, seconds: float) -> None:
        """A chat command was answered (`Router.observer`)."""
        label = name if name in self._known else "unknown"
        self.commands.labels(label, outcome).inc()
        self.reply_seconds.labels(label).observe(seconds)

    def outbox_settled(self, platform: str, category: str, status: str) -> None:
        """The dispatcher settled a message (`Dispatcher.observer`)."""
        if status == "rate_limited":
            self.rate_limited.labels(platform).inc()
        self.outbox.labels(platform, category, status).inc()

    def rate_limit_seen(self, platform: str) -> None:
        """A 429 met by a reply, or waited out inside Slack's Web API client (for a reply or an
        outbox message alike). A 429 that reaches the dispatcher is counted there instead
        (`outbox_settled`), so each 429 counts once."""
        self.rate_limited.labels(platform).inc()

    def job(self, job: str, outcome: str, seconds: float) -> None:
        """A scheduler job ran (`Scheduler.observer`)."""
        self.job_runs.labels(job, outcome).inc()
        if outcome != "skipped":
            self.job_seconds.labels(job).observe(seconds)

    def retried(self) -> None:
        """A transaction is being retried (`SqlDatabase.on_retry`)."""
        self.db_retries.inc()

    def watch_database(self, journals: JournalCounts, outbox: OutboxCounts) -> None:
        """Read these aggregates whenever Prometheus scrapes."""
        self.registry.register(_DatabaseCollector(journals, outbox))

    def render(self) -> bytes:
        """The exposition text of every metric."""
        return generate_latest(self.registry)


class _DatabaseCollector(Collector):
    """Journals by kind and outbox rows by status, straight from the database."""

    def __init__(self, journals: JournalCounts, outbox: OutboxCounts) -> None:
        self._journals = journals
        self._outbox = outbox

    def describe(self) -> list[Metric]:
        """Nothing up front: describing must not query the database."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One grouped statement per family."""
        journals = CounterMetricFamily(
            "loyalty_ledger_journals", "Ledger journals by kind (all workers)", labels=["kind"]
        )
        for kind, count in self._journals():
            journals.add_metric([kind], count)
        yield journals
        outbox = GaugeMetricFamily(
            "loyalty_outbox_rows",
            "Outbox rows now, by platform (channel posts; 'member' until sent), category and"
            " status",
            labels=["platform", "category", "status"],
        )
        for platform, category, status, count in self._outbox():
            outbox.add_metric([platform, category, status], count)
        yield outbox


class MetricsComponent:
    """A runner Component that serves `GET /metrics`."""

    label = "metrics"

    def __init__(self, metrics: Metrics, token: str | None) -> None:
        self._metrics = metrics
        self._token = token

    def routes(self) -> list[BaseRoute]:
        """`GET /metrics`."""
        return [Route("/metrics", self.serve, methods=["GET"])]

    async def serve(self, request: Request) -> Response:
        """The metrics; 401 without the right bearer token when one is configured."""
        if self._token is not None and not _bearer_matches(request, self._token):
            return PlainTextResponse(
                "401: send Authorization: Bearer <METRICS_TOKEN>",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            body = await asyncio.to_thread(self._metrics.render)
        except Exception:
            log.exception("collecting metrics failed")
            return PlainTextResponse("503: metrics could not be collected", status_code=503)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def start(self) -> None:
        """Nothing to start: the route is served by the shared server."""

    async def stop(self) -> None:
        """Nothing to stop."""


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
