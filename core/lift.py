"""Lift: did a broadcast change what its audience did, against the holdout that got nothing?

Per member, over the `days` after the broadcast started: visits (days with a purchase), spend
and redemptions. The difference of the two groups' means comes with a simple 95% interval
(normal approximation, Welch's standard error); with fewer than `MIN_GROUP` members in either
group the honest answer is that there are not enough members to tell.

`broadcast_lift(store, broadcast_id, days)` is the entry point other reports call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

MIN_GROUP = 30
Z_95 = 1.96
METRICS = ("visits", "spend", "redemptions")


@dataclass(frozen=True, kw_only=True)
class GroupSums:
    """One group's member count and, per metric, the sum and the sum of squares."""

    members: int = 0
    sums: tuple[float, float, float] = (0.0, 0.0, 0.0)
    squares: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, kw_only=True)
class MetricLift:
    """One metric per member: audience and holdout means, difference, 95% interval."""

    metric: str
    audience: float
    holdout: float
    difference: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """True when the interval leaves zero out: a difference chance alone rarely makes."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, kw_only=True)
class Lift:
    """A broadcast's lift after `days`; `enough` is False when the groups are too small."""

    days: int
    audience: int
    holdout: int
    metrics: tuple[MetricLift, ...]

    @property
    def enough(self) -> bool:
        """Whether both groups are large enough to say anything."""
        return self.audience >= MIN_GROUP and self.holdout >= MIN_GROUP


class LiftStore(Protocol):
    """The storage query lift needs (`storage.broadcast_store.SqlBroadcastStore`)."""

    def started_at(self, broadcast_id: int) -> datetime | None: ...

    def lift_sums(
        self, broadcast_id: int, start: datetime, end: datetime
    ) -> tuple[GroupSums, GroupSums]:
        """(audience that was sent the message, holdout) over [start, end)."""
        ...


def _mean_var(total: float, squares: float, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    mean = total / n
    variance = max(squares / n - mean * mean, 0.0) * (n / (n - 1) if n > 1 else 1.0)
    return mean, variance


def lift_of(audience: GroupSums, holdout: GroupSums, days: int) -> Lift:
    """Means, differences and intervals from the two groups' sums."""
    metrics = []
    for index, name in enumerate(METRICS):
        a_mean, a_var = _mean_var(audience.sums[index], audience.squares[index], audience.members)
        h_mean, h_var = _mean_var(holdout.sums[index], holdout.squares[index], holdout.members)
        error = math.sqrt(
            (a_var / audience.members if audience.members else 0.0)
            + (h_var / holdout.members if holdout.members else 0.0)
        )
        difference = a_mean - h_mean
        metrics.append(
            MetricLift(
                metric=name,
                audience=a_mean,
                holdout=h_mean,
                difference=difference,
                low=difference - Z_95 * error,
                high=difference + Z_95 * error,
            )
        )
    return Lift(
        days=days, audience=audience.members, holdout=holdout.members, metrics=tuple(metrics)
    )


def broadcast_lift(store: LiftStore, broadcast_id: int, days: int) -> Lift | None:
    """The lift of a broadcast over the `days` after it started (None: it never started)."""
    started = store.started_at(broadcast_id)
    if started is None:
        return None
    audience, holdout = store.lift_sums(broadcast_id, started, started + timedelta(days=days))
    return lift_of(audience, holdout, days)
