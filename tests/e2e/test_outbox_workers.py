"""Two `loyalty run` workers on one PostgreSQL drain one outbox through one bot token, against
the fake Bot API enforcing Telegram's 30 messages/s overall: the shared send budget keeps
their sum under it (zero 429s), and every message is sent exactly once. (The rate each worker
keeps is measured in `python -m benchmarks outbox`, not asserted here.)"""

from __future__ import annotations

from benchmarks.outbox_workers import drain, seed_outbox
from benchmarks.telegram_support import running_fake
from tests.storage.fixtures import postgres_schema, require_postgres

MESSAGES = 600
# Each worker alone would send this fast, two together twice as fast without the shared
# budget. Below the production 29/s: the fake counts arrivals in a sliding second, and on a
# loaded machine a stall that bunches sends up must not read as a budget overrun.
RATE = "25"


def test_two_workers_drain_600_messages_with_zero_429s_each_sent_once() -> None:
    with postgres_schema(require_postgres()) as url:
        chats = seed_outbox(url, MESSAGES)
        with running_fake() as fake:
            fake.enforce_rate(global_per_sec=30, per_chat_per_sec=1)
            result = drain(fake, url, chats, workers=2, TELEGRAM_SENDS_PER_SECOND=RATE)
    assert result.too_many_requests == 0
    assert result.sent == MESSAGES
    assert result.chats == MESSAGES  # every chat got its message ...
    assert result.duplicates == 0  # ... once
