"""The pacer: blocks of the shared budget's slots, a gap per chat, pauses after a 429."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.outbox import pacer as pacer_module
from bot.outbox.dispatcher import IN_FLIGHT, sends_under_way
from bot.outbox.pacer import BLOCK, LocalBudget, Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingBudget(LocalBudget):
    """The in-memory budget, counting how many slots each booking asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.bookings: list[int] = []

    def reserve(self, count: int, gap: float, now: float) -> float:
        self.bookings.append(count)
        return super().reserve(count, gap, now)


def test_the_local_budget_books_consecutive_slots_and_honours_pauses() -> None:
    budget = LocalBudget()
    assert budget.reserve(5, 0.1, 100.0) == 100.0
    assert abs(budget.reserve(1, 0.1, 100.0) - 100.5) < 1e-9
    budget.pause(120.0)
    assert budget.reserve(1, 0.1, 101.0) == 120.0


def test_each_chat_keeps_its_gap_and_a_429_pauses_only_that_chat() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=30, per_chat_interval=1.0, clock=clock)
    assert pacer.reserve_chat("ann") == 0
    assert pacer.chat_ready_in("ann") == 1.0
    assert pacer.chat_ready_in("bob") == 0
    assert pacer.reserve_chat("ann") == 1.0
    pacer.pause_chat("bob", 5)
    assert pacer.chat_ready_in("bob") == 5
    assert pacer.reserve_chat("cid") == 0


def test_slots_are_booked_in_blocks_for_waiting_messages_and_passed_ones_dropped() -> None:
    clock = FakeTime()
    budget = CountingBudget()
    pacer = Pacer(per_second=30, per_chat_interval=0, budget=budget, clock=clock)

    async def scenario() -> None:
        await pacer.wait_overall(upcoming=3)  # books 3, uses the first
        await pacer.wait_overall()
        await pacer.wait_overall()
        await pacer.wait_overall(upcoming=50)  # at most a block at once
        clock.now += 10  # the rest of that block has passed unused: dropped, not sent late
        await pacer.wait_overall()

    asyncio.run(scenario())
    assert budget.bookings == [3, BLOCK, 1]


def test_a_fast_pace_books_a_sixth_of_a_second_at_once() -> None:
    """At a paid broadcast rate (1,000/s) 5 slots a booking would be 200 statements a second
    on the shared budget: a block is a sixth of a second's worth, as at 29/s."""
    clock = FakeTime()
    budget = CountingBudget()
    pacer = Pacer(per_second=1000, per_chat_interval=0, budget=budget, clock=clock)
    asyncio.run(pacer.wait_overall(upcoming=500))
    assert budget.bookings == [167]


def test_a_pause_reaches_the_shared_budget() -> None:
    clock = FakeTime()
    budget = CountingBudget()
    pacer = Pacer(per_second=10, per_chat_interval=1.0, budget=budget, clock=clock)
    asyncio.run(pacer.pause(5))
    assert budget.reserve(1, 0.1, clock.now) == 105.0


def test_replies_wait_only_while_their_chat_is_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A person's own commands set their pace: replies do not queue behind the chat's gap
    (which the outbox keeps after them); after a 429 they wait it out, one gap apart."""
    clock = FakeTime()
    pacer = Pacer(per_second=1000, per_chat_interval=1.0, clock=clock)
    sleeps: list[float] = []

    async def recorded(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(pacer_module.asyncio, "sleep", recorded)

    async def replies(count: int) -> None:
        for _ in range(count):
            await pacer.wait_reply("ann")

    asyncio.run(replies(3))
    assert all(s < 0.01 for s in sleeps)
    assert pacer.chat_ready_in("ann") == 1.0  # the outbox waits a gap after them
    sleeps.clear()
    pacer.pause_chat("ann", 5)
    assert pacer.paused_for("ann") == 5
    asyncio.run(replies(2))
    assert [round(s, 3) for s in sleeps if s >= 0.01] == [5.0, 6.0]


def test_a_pause_sends_the_messages_already_holding_slots_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three messages take consecutive slots; the first meets a 429 and pauses the token for
    5 s while the other two sleep towards theirs: both go after the pause, not into it."""
    clock = FakeTime()
    pacer = Pacer(per_second=10, per_chat_interval=0, clock=clock)
    yield_once = asyncio.sleep

    async def sleep(seconds: float) -> None:  # lets the others run, then time has passed
        until = clock.now + seconds
        await yield_once(0)
        clock.now = max(clock.now, until)

    monkeypatch.setattr(pacer_module.asyncio, "sleep", sleep)
    sent: list[float] = []

    async def send(meets_429: bool) -> None:
        await pacer.wait_overall(upcoming=3)
        sent.append(clock.now)
        if meets_429:
            await yield_once(0)  # the answer takes a moment: the others are asleep by then
            await pacer.pause(5)

    async def scenario() -> None:
        await asyncio.gather(send(True), send(False), send(False))

    asyncio.run(scenario())
    assert sent[0] == 100.0
    assert all(at >= 105.0 for at in sent[1:]), sent


def test_fewer_messages_are_under_way_at_once_the_slower_the_platform() -> None:
    assert sends_under_way(1) == 1
    assert sends_under_way(29) == 3  # Telegram's pace: about 0.1 s of round trip per send
    assert sends_under_way(1000) == IN_FLIGHT  # never more than the stated bound


def test_a_late_wake_up_gives_its_slot_up_and_books_a_span_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slot woken up to 25 ms late (more than LATE) is not used: the next try books two
    slots of its own (enough for such a wake-up) and goes between the first and LATE after
    the last, never on a slot it does not hold."""
    clock = FakeTime()
    budget = CountingBudget()
    pacer = Pacer(per_second=30, per_chat_interval=0, budget=budget, clock=clock)
    yield_once = asyncio.sleep

    async def late_sleep(seconds: float) -> None:
        await yield_once(0)
        clock.now += seconds + 0.025

    monkeypatch.setattr(pacer_module.asyncio, "sleep", late_sleep)

    async def scenario() -> list[float]:
        sent = []
        for _ in range(3):
            await pacer.wait_overall(upcoming=1)
            sent.append(clock.now)
        return sent

    sent = asyncio.run(scenario())
    gap = 1 / 30
    # The first slot is due at once; the second is woken up late and given up; then two
    # slots of its own (100 + 2 gaps, + 3 gaps); the third message again tries one slot
    # first.
    assert budget.bookings == [1, 1, 2, 1, 2]
    assert sent[0] == 100.0
    first = 100.0 + 2 * gap
    assert first <= sent[1] <= first + gap + pacer_module.LATE
    # Every send is at least the budget's gap minus LATE after the one before it.
    assert all(b - a >= gap - pacer_module.LATE for a, b in itertools.pairwise(sent))
