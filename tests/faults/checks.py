"""What the fault suite checks after the load, from the database and the fakes' logs."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.faults.balancer import Delivery
from tests.faults.cluster import LEADS, LOCK_LOST, LOCK_RETAKEN, NO_LONGER_LEADS, Worker

# Every message the suite can attribute to one delivery names its receipt, refund, gift or
# broadcast row; a second copy of such a message to the same chat is a duplicate.
TOKEN = re.compile(r"\b(?:[PTF]-\d+|gift\d+|B-\d+)\b")
_DELIVERY_ID = re.compile(r"(?:tg:)?(\d{5,}|EvF\d+|[PF]-\d+)")
TELEGRAM_MESSAGES = frozenset({"sendmessage", "sendphoto"})


def effects(engine: Engine) -> Counter[tuple[str, str]]:
    """How many times each keyed effect is in the database."""
    found: Counter[tuple[str, str]] = Counter()
    with engine.connect() as conn:
        for (key,) in conn.exec_driver_sql("SELECT key FROM journal").all():
            kind, _, ref = str(key).partition(":")
            name = {"earn": "purchase", "refund": "refund", "redeem": "redemption"}.get(kind)
            if name is not None:
                found[(name, ref)] += 1
        for (receipt,) in conn.exec_driver_sql("SELECT receipt FROM purchase").all():
            found[("purchase row", str(receipt))] += 1
        for (reason,) in conn.exec_driver_sql("SELECT reason FROM gift").all():
            for token in TOKEN.findall(str(reason)):
                found[("gift", token)] += 1
    return found


@dataclass(kw_only=True)
class Handled:
    """Deliveries against their effects."""

    acknowledged: int = 0
    redelivered: int = 0
    effects_once: int = 0
    doubled: list[str] = field(default_factory=list)  # an effect more than once
    lost: list[str] = field(default_factory=list)  # acknowledged, and no effect
    redelivered_once: int = 0  # re-delivered and handled exactly once


def handled(
    deliveries: Iterable[Delivery], found: Counter[tuple[str, str]], claims: dict[str, str]
) -> Handled:
    """Each delivery's effect at most once; exactly once when a worker acknowledged it.
    (`claims`: the delivery keys the workers recorded, to tell how a lost one was lost.)"""
    result = Handled()
    for delivery in deliveries:
        result.acknowledged += delivery.acked
        result.redelivered += delivery.redelivered
        if delivery.effect is None:
            continue
        count = found[delivery.effect]
        if delivery.effect[0] == "purchase":
            count = max(count, found[("purchase row", delivery.effect[1])])
        if count > 1:
            result.doubled.append(f"{delivery.kind} {delivery.key}: {count} times")
        elif count == 0 and delivery.acked:
            state = claims.get(delivery.key, "never claimed")
            result.lost.append(
                f"{delivery.kind} {delivery.key} {delivery.statuses} {state}: {_what(delivery)}"
            )
        elif count == 1:
            result.effects_once += 1
            result.redelivered_once += delivery.redelivered
    return result


def _what(delivery: Delivery) -> str:
    """The command text of a Telegram update, else the body's start."""
    try:
        return str(json.loads(delivery.body)["message"]["text"])
    except (ValueError, KeyError, TypeError):
        return delivery.body[:80].decode("utf-8", "replace")


def claimed(engine: Engine) -> dict[str, str]:
    """The inbound delivery keys the workers recorded, with their state where deliveries are
    kept (`pending`, `done`), else "claimed"."""
    with engine.connect() as conn:
        tables = {str(r[0]) for r in conn.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).all()}  # fmt: skip
        if "inbound_delivery" in tables:
            rows = conn.exec_driver_sql("SELECT key, state FROM inbound_delivery").all()
            return {str(key): str(state) for key, state in rows}
        rows = conn.exec_driver_sql("SELECT key FROM inbound_event").all()
        return {str(key): "claimed" for (key,) in rows}


def missing(deliveries: Iterable[Delivery], found: Counter[tuple[str, str]]) -> int:
    """Acknowledged deliveries whose effect is not in the database (yet)."""
    return sum(1 for d in deliveries if d.acked and d.effect and found[d.effect] == 0)


@dataclass(kw_only=True)
class Sent:
    """Messages the platforms received, and the copies among them."""

    telegram: int
    slack: int
    duplicates: list[str]


def sent(telegram: FakeTelegramApi, slack: FakeSlackApi) -> Sent:
    """Delivered messages (a timed-out call was delivered too) and duplicates of those that
    belong to one delivery."""
    copies: Counter[tuple[str, str, str]] = Counter()
    telegram_count = 0
    for call in telegram.calls:
        if call.method.lower() in TELEGRAM_MESSAGES and call.ok:
            telegram_count += 1
            if TOKEN.search(call.text or ""):
                copies[("telegram", str(call.chat_id), call.text or "")] += 1
    slack_count = 0
    for post in slack.calls_to("chat.postMessage"):
        if post.ok:
            slack_count += 1
            text = str(post.params.get("text", ""))
            if TOKEN.search(text):
                copies[("slack", str(post.params.get("channel")), text)] += 1
    duplicates = [
        f"{p} {chat}: {text[:80]!r} x{n}" for (p, chat, text), n in copies.items() if n > 1
    ]
    return Sent(telegram=telegram_count, slack=slack_count, duplicates=duplicates)


def peak(times: list[float], window: float = 1.0) -> int:
    """Most events inside any sliding window of `window` seconds."""
    ordered, best, lo = sorted(times), 0, 0
    for hi, at in enumerate(ordered):
        while ordered[lo] <= at - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def busiest_second(telegram: FakeTelegramApi) -> str:
    """The sends inside the busiest second, summed up: to explain a peak over the limit."""
    sends = sorted(
        (c for c in telegram.calls if c.method.lower() in TELEGRAM_MESSAGES and c.fault is None),
        key=lambda c: c.at,
    )
    best, lo, span = 0, 0, (0, 0)
    for hi, call in enumerate(sends):
        while sends[lo].at <= call.at - 1.0:
            lo += 1
        if hi - lo + 1 > best:
            best, span = hi - lo + 1, (lo, hi + 1)
    window = sends[span[0] : span[1]]
    kinds = Counter((c.status, "broadcast" if "B-" in (c.text or "") else "other") for c in window)
    gaps = [round(1000 * (b.at - a.at)) for a, b in itertools.pairwise(window)]
    return f"{best} sends: {dict(kinds)}; gaps ms {gaps}"


def slack_channel_peak(slack: FakeSlackApi) -> int:
    """Most chat.postMessage attempts to one channel inside any second."""
    by_channel: dict[str, list[float]] = {}
    for post in slack.calls_to("chat.postMessage"):
        by_channel.setdefault(str(post.params.get("channel")), []).append(post.at)
    return max((peak(times) for times in by_channel.values()), default=0)


def mentions(workers: list[Worker], lost: list[str]) -> list[str]:
    """The workers' log lines naming a lost delivery's id, with the worker and the time."""
    ids = {
        word.removeprefix("tg:").removeprefix("slack:")
        for line in lost
        for word in line.split()[1:3]
    }
    return [
        f"worker {w.index} at {at:.2f}: {text}"
        for w in workers for life in w.lives for at, text in life.lines
        if any(i in text for i in ids)
    ]  # fmt: skip


def takeovers(workers: list[Worker]) -> int:
    """How many times a process said it now leads."""
    return sum(LEADS in text for w in workers for life in w.lives for _, text in life.lines)


def leadership(workers: list[Worker], terminated: list[tuple[float, str]]) -> list[str]:
    """Overlaps between the times processes believed they led the scheduler.

    A process leads from the line saying so (or that it took the lock again) until the line
    saying it stopped (or lost the lock's connection), its death, or the termination of its
    connections (which ends its advisory lock; it notices at its next election, and checks
    before each sweep)."""
    spans: list[tuple[float, float, str]] = []
    for worker in workers:
        cuts = sorted(at for at, name in terminated if name == worker.application_name)
        for n, life in enumerate(worker.lives):
            start: float | None = None
            end_of_life = life.ended if life.ended is not None else float("inf")
            for at, text in [*list(life.lines), (end_of_life, NO_LONGER_LEADS)]:
                if (LEADS in text or LOCK_RETAKEN in text) and start is None:
                    start = at
                elif (NO_LONGER_LEADS in text or LOCK_LOST in text) and start is not None:
                    cut = min([c for c in cuts if c >= start] + [at])
                    spans.append((start, cut, f"worker {worker.index} life {n}"))
                    start = None
    spans.sort()
    overlaps, latest = [], (float("-inf"), "nobody")
    for start, end, who in spans:
        if start < latest[0]:
            overlaps.append(f"{latest[1]} led until {latest[0]:.2f}, {who} from {start:.2f}")
        latest = max(latest, (end, who))
    return overlaps
