"""Faults a platform fake injects while it runs: slow answers, 500s, 429s and timeouts.

A test switches a plan on and off at runtime (`FaultSwitch.set`); each call the fake gets
draws at most one fault from the plan, with a seeded random generator so a run can be
replayed. What was injected is counted, so a suite can print it.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """What the fake does to one call."""

    SLOW = "slow"  # answers correctly, after `slow_seconds`
    ERROR = "error"  # 500, nothing delivered
    RATE_LIMITED = "rate_limited"  # 429 with retry_after / Retry-After, nothing delivered
    TIMEOUT = "timeout"  # delivered, but the answer is held back for `hang_seconds`


@dataclass(frozen=True, kw_only=True)
class FaultPlan:
    """The probability of each fault per call (their sum at most 1) and its parameters."""

    slow: float = 0.0
    error: float = 0.0
    rate_limited: float = 0.0
    timeout: float = 0.0
    slow_seconds: float = 1.0
    retry_after: int = 1
    # Longer than the client's read timeout, so the client gives up on a call that did reach
    # the platform: the case in which a retry could deliver a message twice.
    hang_seconds: float = 6.0

    def __post_init__(self) -> None:
        if self.slow + self.error + self.rate_limited + self.timeout > 1.0:
            raise ValueError("fault probabilities add up to more than 1")


NO_FAULTS = FaultPlan()


class FaultSwitch:
    """The plan in force and the faults injected so far; thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._plan = NO_FAULTS
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[Fault] = Counter()

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        with self._lock:
            return self._plan

    def set(self, plan: FaultPlan) -> None:
        """Inject faults by `plan` from now on."""
        with self._lock:
            self._plan = plan

    def clear(self) -> None:
        """No more faults."""
        self.set(NO_FAULTS)

    def draw(self) -> Fault | None:
        """The fault for the call arriving now, if any (and count it)."""
        with self._lock:
            plan = self._plan
            if plan is NO_FAULTS:
                return None
            roll = self._random.random()
            for fault, chance in (
                (Fault.SLOW, plan.slow),
                (Fault.ERROR, plan.error),
                (Fault.RATE_LIMITED, plan.rate_limited),
                (Fault.TIMEOUT, plan.timeout),
            ):
                if roll < chance:
                    self.injected[fault] += 1
                    return fault
                roll -= chance
            return None
