"""Stopping `loyalty run` on SIGTERM or SIGINT: gracefully, and within seconds for sure.

The first signal asks everything to stop (the HTTP server finishes what it is serving, the
components stop in reverse order). Work stuck in a thread (a database that stopped
answering, a request to a platform that hangs) cannot be interrupted from Python, and the
interpreter would wait for it at exit; so the first signal also arms a watchdog that ends
the process after FORCE_AFTER seconds, and a second signal ends it at once. Nothing is lost
by that: every change is one transaction, and what was not committed is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading

log = logging.getLogger(__name__)

FORCE_AFTER = 10.0
EXIT_FORCED = 1


class Shutdown:
    """Turns SIGTERM/SIGINT into `stop` being set, with the watchdog described above."""

    def __init__(self, force_after: float = FORCE_AFTER) -> None:
        self.stop = asyncio.Event()
        self._force_after = force_after

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle SIGTERM and SIGINT on `loop`."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.requested)

    def requested(self) -> None:
        """A signal arrived: stop now if one did before, else start stopping."""
        if self.stop.is_set():
            _exit_now("stopping again on a second signal")
        self.stop.set()
        why = f"still stopping after {self._force_after:g} s"
        watchdog = threading.Timer(self._force_after, _exit_now, (why,))
        watchdog.daemon = True
        watchdog.start()


def _exit_now(why: str) -> None:
    log.error("%s: exiting without waiting for work in progress", why)
    sys.stderr.flush()
    os._exit(EXIT_FORCED)
