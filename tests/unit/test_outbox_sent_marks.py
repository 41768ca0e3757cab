"""Sent marks are written together: the marks that come in while one transaction runs go in
the next one, and each sender is back only once its own row is committed."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import cast

import pytest

from bot.outbox.dispatcher import SentMarks
from core.outbox import OutboxQueue

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class HeldQueue:
    """Writes marks only once `go` is set; records each transaction's rows."""

    def __init__(self, fail: bool = False) -> None:
        self.go = threading.Event()
        self.entered = threading.Event()
        self.groups: list[list[int]] = []
        self.fail = fail

    def mark_all_sent(self, sent: list[tuple[int, datetime]]) -> None:
        self.entered.set()
        assert self.go.wait(10)
        if self.fail:
            raise ConnectionError("the database went away")
        self.groups.append([message_id for message_id, _ in sent])


async def _three_marks(queue: HeldQueue) -> list[BaseException | None]:
    marks = SentMarks(cast(OutboxQueue, queue))
    first = asyncio.create_task(marks.mark(1, T0))
    await asyncio.to_thread(queue.entered.wait, 10)  # the first transaction is under way
    later = [asyncio.create_task(marks.mark(n, T0)) for n in (2, 3)]
    await asyncio.sleep(0)  # they are waiting too
    assert not any(task.done() for task in (first, *later))  # nobody is back before a commit
    queue.go.set()
    return await asyncio.gather(first, *later, return_exceptions=True)


def test_marks_made_during_a_transaction_go_together_in_the_next() -> None:
    queue = HeldQueue()
    outcomes = asyncio.run(_three_marks(queue))
    assert outcomes == [None, None, None]
    assert queue.groups == [[1], [2, 3]]


def test_a_failed_write_is_raised_to_every_sender_in_it() -> None:
    queue = HeldQueue(fail=True)
    outcomes = asyncio.run(_three_marks(queue))
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert queue.groups == []


def test_marks_after_a_quiet_spell_start_a_new_writer() -> None:
    queue = HeldQueue()
    queue.go.set()

    async def two_apart() -> None:
        marks = SentMarks(cast(OutboxQueue, queue))
        await marks.mark(1, T0)
        await marks.mark(2, T0)

    asyncio.run(two_apart())
    assert queue.groups == [[1], [2]]


@pytest.mark.parametrize("count", [1, 5])
def test_every_mark_is_written_once(count: int) -> None:
    queue = HeldQueue()
    queue.go.set()

    async def many() -> None:
        marks = SentMarks(cast(OutboxQueue, queue))
        await asyncio.gather(*(marks.mark(n, T0) for n in range(count)))

    asyncio.run(many())
    assert sorted(n for group in queue.groups for n in group) == list(range(count))
