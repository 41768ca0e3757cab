"""`loyalty run` with probes: `python -m benchmarks.profiled_run`, used by
`python -m benchmarks telegram|slack --profile`. With LOYALTY_BENCH_PROFILE=<dir> it writes
there:

- `loop.prof`: cProfile of the event-loop thread (PTB, httpx, the handlers' async parts);
- `threads.prof`: cProfile of every function the bot runs in worker threads
  (`asyncio.to_thread`: the router, the ledger reads, the idempotency claim);
- `phases.json`: wall time per phase of each Telegram command (claim, handle, send, menu),
  of each Slack request (until it is kept, until `ack()` is called, until it is answered;
  each answer at a response URL), of `asyncio.to_thread` (waiting for a free worker vs
  running) and of SQL transactions (waiting for this process's SQLite writer lock vs
  running); and counts: transactions (read, write), outgoing HTTP requests by path.

With LOYALTY_BENCH_CPROFILE=0 the phases and counts are taken without cProfile, whose
overhead (several times the bot's own work on this path) distorts the timings.
cProfile is per thread, hence the two profiles.
"""

from __future__ import annotations

import asyncio
import contextvars
import cProfile
import functools
import json
import os
import pstats
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_samples: defaultdict[str, list[float]] = defaultdict(list)
_local = threading.local()
_thread_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_counts: defaultdict[str, int] = defaultdict(int)
_cprofile = os.environ.get("LOYALTY_BENCH_CPROFILE", "1") != "0"


def _thread_profile() -> cProfile.Profile:
    profile: cProfile.Profile | None = getattr(_local, "profile", None)
    if profile is None:
        profile = cProfile.Profile()
        _local.profile = profile
        with _lock:
            _thread_profiles.append(profile)
    return profile


def _install() -> None:
    from bot.telegram.adapter import TelegramAdapter
    from bot.telegram.menus import Menus

    original_to_thread = asyncio.to_thread

    async def to_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        submitted = time.perf_counter()
        name = getattr(func, "__qualname__", repr(func))

        def run() -> T:
            started = time.perf_counter()
            profile = _thread_profile() if _cprofile else None
            if profile is not None:
                profile.enable()
            try:
                return func(*args, **kwargs)
            finally:
                if profile is not None:
                    profile.disable()
                _samples["to_thread wait for a worker"].append(started - submitted)
                _samples[f"thread: {name}"].append(time.perf_counter() - started)

        return await original_to_thread(run)

    asyncio.to_thread = to_thread

    def timed_async(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                _samples[name].append(time.perf_counter() - started)

        return wrapper

    _install_slack(timed_async)
    _install_storage()
    TelegramAdapter._serve = timed_async("command total (_serve)", TelegramAdapter._serve)  # type: ignore[method-assign]
    TelegramAdapter._send = timed_async("reply sendMessage (_send)", TelegramAdapter._send)  # type: ignore[method-assign]
    Menus.refresh = timed_async("menu refresh", Menus.refresh)  # type: ignore[method-assign]


_request_started: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "bench_request_started", default=None
)


def _install_slack(timed_async: Callable[[str, Callable[..., Any]], Callable[..., Any]]) -> None:
    """Each Slack request: until kept, until its listener calls `ack()`, until answered."""
    import aiohttp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.app import SlackListeners
    from bot.slack.commands import KudosCommand
    from bot.slack.component import SlackComponent

    events = SlackComponent._events

    @functools.wraps(events)
    async def timed_events(self: SlackComponent, request: Any) -> Any:
        started = time.perf_counter()
        token = _request_started.set(started)
        try:
            return await events(self, request)
        finally:
            _request_started.reset(token)
            _samples["slack: request until its response (_events)"].append(
                time.perf_counter() - started
            )

    SlackComponent._events = timed_events  # type: ignore[method-assign]
    ack_call = AsyncAck.__call__

    @functools.wraps(ack_call)
    async def timed_ack(self: AsyncAck, *args: Any, **kwargs: Any) -> Any:
        started = _request_started.get()
        if started is not None:
            _samples["slack: request until ack() is called"].append(time.perf_counter() - started)
        return await ack_call(self, *args, **kwargs)

    AsyncAck.__call__ = timed_ack  # type: ignore[method-assign]
    SlackListeners.admit = timed_async("slack: admit (bolt middleware)", SlackListeners.admit)  # type: ignore[method-assign]
    KudosCommand.handle = timed_async("slack: /kudos after ack (handle)", KudosCommand.handle)  # type: ignore[method-assign]
    request = aiohttp.ClientSession._request

    @functools.wraps(request)
    async def counted(self: aiohttp.ClientSession, method: str, url: Any, *a: Any, **k: Any) -> Any:
        path = str(url).split("?", 1)[0].rsplit("/", 2)
        kind = path[-1] if "/api/" in str(url) else "response URL"
        _counts[f"http {method} {kind}"] += 1
        started = time.perf_counter()
        try:
            return await request(self, method, url, *a, **k)
        finally:
            _samples[f"http {kind}"].append(time.perf_counter() - started)

    aiohttp.ClientSession._request = counted  # type: ignore[method-assign,assignment]


def _install_storage() -> None:
    """SQL transactions counted, and split into waiting for the writer lock and running."""
    from storage.database import SqlDatabase

    attempt = SqlDatabase._attempt
    transaction = SqlDatabase._transaction

    def timed_attempt(self: SqlDatabase, work: Any, write: bool) -> Any:
        _local.transaction_s = 0.0
        started = time.perf_counter()
        try:
            return attempt(self, work, write)
        finally:
            total = time.perf_counter() - started
            if write:
                _samples["sql: write, waiting for the writer lock"].append(
                    total - getattr(_local, "transaction_s", 0.0)
                )

    def timed_transaction(self: SqlDatabase, work: Any, write: bool) -> Any:
        _counts["sql transactions, write" if write else "sql transactions, read"] += 1
        started = time.perf_counter()
        try:
            return transaction(self, work, write)
        finally:
            elapsed = time.perf_counter() - started
            _local.transaction_s = elapsed
            _samples["sql: write transaction" if write else "sql: read transaction"].append(elapsed)

    SqlDatabase._attempt = timed_attempt  # type: ignore[method-assign]
    SqlDatabase._transaction = timed_transaction  # type: ignore[method-assign]


def _write(directory: Path, loop_profile: cProfile.Profile) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if _cprofile:
        loop_profile.dump_stats(directory / "loop.prof")
    with _lock:
        profiles = list(_thread_profiles)
    if profiles:
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(directory / "threads.prof")
    phases = {
        name: {"calls": len(v), "total_s": sum(v), "mean_ms": 1e3 * sum(v) / len(v)}
        for name, v in _samples.items()
        if v
    }
    phases.update(
        {name: {"calls": n, "total_s": 0.0, "mean_ms": 0.0} for name, n in _counts.items()}
    )
    (directory / "phases.json").write_text(json.dumps(phases, indent=2), encoding="utf-8")


def main() -> int:
    directory = Path(os.environ.get("LOYALTY_BENCH_PROFILE", "profile"))
    _install()
    from bot.cli import main as loyalty_main

    sys.argv = ["loyalty", "run"]
    profile = cProfile.Profile()
    if _cprofile:
        profile.enable()
    try:
        loyalty_main()
    except SystemExit:
        pass
    finally:
        profile.disable()
        _write(directory, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
