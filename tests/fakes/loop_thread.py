"""An event loop on a background thread, for fakes that serve a bot running elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def loop_in_thread(name: str, timeout: float) -> Iterator[asyncio.AbstractEventLoop]:
    """Run an event loop on a daemon thread for the duration of the block.

    On the way out every task still pending on the loop (a request handler that outlived the
    server's shutdown grace, a slow fault's sleep) is cancelled and awaited before the loop
    closes: a task left pending is destroyed at some later garbage collection, and its
    "Task was destroyed but it is pending!" error would land in whichever test runs then.
    """
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        asyncio.run_coroutine_threadsafe(_cancel_pending(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


async def _cancel_pending() -> None:
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
