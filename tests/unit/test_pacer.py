"""The outbox pacer keeps the overall rate and the per-chat gap, and honours pauses."""

from __future__ import annotations

from bot.outbox.pacer import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_overall_rate_spaces_slots_across_chats() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=30, per_chat_interval=1.0, clock=clock)
    waits = [pacer.reserve(f"chat-{n}") for n in range(60)]
    assert waits[0] == 0
    assert abs(waits[30] - 1.0) < 1e-9  # 60 distinct chats take two seconds at 30/s
    assert abs(waits[59] - 59 / 30) < 1e-9


def test_one_chat_gets_at_most_one_message_per_interval() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=30, per_chat_interval=1.0, clock=clock)
    assert pacer.reserve("ann") == 0
    assert pacer.chat_ready_in("ann") == 1.0
    assert pacer.chat_ready_in("bob") == 0
    assert pacer.reserve("bob") < 0.1
    assert pacer.reserve("ann") == 1.0


def test_pause_holds_every_chat() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=30, per_chat_interval=1.0, clock=clock)
    pacer.pause(5)
    assert pacer.reserve("ann") == 5
    clock.now += 10
    assert pacer.reserve("bob") == 0


def test_replies_spend_the_budget_and_notifications_make_room() -> None:
    clock = FakeTime()
    pacer = Pacer(per_second=10, per_chat_interval=1.0, clock=clock)
    for _ in range(5):  # five replies go out at once, without waiting
        pacer.spend()
    assert abs(pacer.reserve("ann") - 0.5) < 1e-9  # the next notification waits for them
