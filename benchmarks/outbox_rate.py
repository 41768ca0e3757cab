"""The outbox dispatcher against Telegram's flood limits: queued notifications, one per chat.

A SQLite file gets N members, each with its own Telegram chat and one queued `points_earned`
row; `loyalty run` (a real subprocess: the Telegram component and the outbox dispatcher, as
in production) drains it against the fake Bot API enforcing 30 sends/s overall and 1/s per
chat (answering 429 with retry_after above that). The rate is the accepted sends over the
time from the first to the last one; every 429 counts against the goal of none.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.telegram_seed import outbox_database, sqlite_url
from benchmarks.telegram_support import (
    bot_env,
    bot_process,
    loyalty_command,
    running_fake,
    wait_until,
)

GLOBAL_LIMIT = 30
PER_CHAT_LIMIT = 1


@dataclass(frozen=True)
class OutboxResult:
    notifications: int
    sent: int
    chats: int
    seconds: float  # first accepted send to the last
    too_many_requests: int
    peak_per_second: int  # most accepted sends in any 1 s window

    @property
    def per_second(self) -> float:
        # n sends span n - 1 gaps: the rate at which the dispatcher hands them out.
        return (self.sent - 1) / self.seconds if self.seconds > 0 else float(self.sent)


def run_outbox(notifications: int) -> OutboxResult:
    with tempfile.TemporaryDirectory(prefix="loyalty-outbox-bench-") as tmp:
        db = Path(tmp) / "outbox.db"
        chats = outbox_database(str(db), notifications)
        with running_fake() as fake:
            fake.enforce_rate(global_per_sec=GLOBAL_LIMIT, per_chat_per_sec=PER_CHAT_LIMIT)
            env = bot_env(fake, sqlite_url(str(db)))
            with bot_process(loyalty_command(), env, Path(tmp)) as process:
                # 1.5x the time at 30/s plus start-up: a stalled dispatcher fails, not hangs.
                timeout = 30 + 1.5 * notifications / GLOBAL_LIMIT
                wait_until(
                    lambda: len(fake.replies) >= notifications,
                    timeout,
                    f"{notifications} notifications",
                    process,
                    0.05,
                )
            times = sorted(at for at, _ in fake.replies)
            reached = {chat for _, chat in fake.replies}
            missing = set(chats) - reached
            if missing:
                raise AssertionError(f"{len(missing)} chats got nothing, e.g. {min(missing)}")
            return OutboxResult(
                notifications,
                len(times),
                len(reached),
                times[-1] - times[0],
                fake.too_many_requests,
                fake.peak_sends(),
            )
