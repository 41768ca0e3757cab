"""`loyalty run` with probes: `python -m benchmarks.profiled_run`, used by
`python -m benchmarks telegram --profile`. With LOYALTY_BENCH_PROFILE=<dir> it writes there:

- `loop.prof`: cProfile of the event-loop thread (PTB, httpx, the handlers' async parts);
- `threads.prof`: cProfile of every function the bot runs in worker threads
  (`asyncio.to_thread`: the router, the ledger reads, the idempotency claim);
- `phases.json`: wall time per phase of each Telegram command (claim, handle, send, menu)
  and of `asyncio.to_thread` (waiting for a free worker vs running).

py-spy is not available; cProfile is per thread, hence the two profiles.
"""

from __future__ import annotations

import asyncio
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
            profile = _thread_profile()
            profile.enable()
            try:
                return func(*args, **kwargs)
            finally:
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

    TelegramAdapter._serve = timed_async("command total (_serve)", TelegramAdapter._serve)  # type: ignore[method-assign]
    TelegramAdapter._send = timed_async("reply sendMessage (_send)", TelegramAdapter._send)  # type: ignore[method-assign]
    Menus.refresh = timed_async("menu refresh", Menus.refresh)  # type: ignore[method-assign]


def _write(directory: Path, loop_profile: cProfile.Profile) -> None:
    directory.mkdir(parents=True, exist_ok=True)
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
    (directory / "phases.json").write_text(json.dumps(phases, indent=2), encoding="utf-8")


def main() -> int:
    directory = Path(os.environ.get("LOYALTY_BENCH_PROFILE", "profile"))
    _install()
    from bot.cli import main as loyalty_main

    sys.argv = ["loyalty", "run"]
    profile = cProfile.Profile()
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
