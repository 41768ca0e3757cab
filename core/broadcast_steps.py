"""Composing a broadcast step by step in chat: `/broadcast` alone asks who should get it, then
what to say, and the last step goes down the one-line path (`/broadcast <segment> <text>`),
so the preview, the checks and the buttons are the same.

Where an author is in this is stored per author (`storage.compose_store`): it survives a
restart and any worker continues it. It lapses EXPIRES_AFTER the last step, so a forgotten
session never turns a later message into a broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.broadcasts import DEFAULT_HOLDOUT, BadHoldout
from core.program import Program
from core.segments import parse_segment

SEGMENT = "segment"  # waiting for who should get it
TEXT = "text"  # waiting for what to say
EXPIRES_AFTER = timedelta(minutes=30)


@dataclass(frozen=True, kw_only=True)
class Composing:
    """One author's broadcast in the making."""

    author_id: int
    step: str
    segment: str | None  # canonical, once chosen
    holdout_percent: int
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        """True once the author let it lapse."""
        return now >= self.expires_at


class ComposeStore(Protocol):
    """Composing state by author (`storage.compose_store`)."""

    def get(self, author_id: int) -> Composing | None: ...
    def put(self, state: Composing) -> None: ...
    def clear(self, author_id: int) -> bool: ...


class Steps:
    """Begin, advance and leave composing; every step given `now`."""

    def __init__(self, store: ComposeStore, program: Program) -> None:
        self._store = store
        self._program = program

    def begin(self, author_id: int, now: datetime) -> Composing:
        """Start over at the first step (a session in progress is dropped)."""
        state = Composing(
            author_id=author_id,
            step=SEGMENT,
            segment=None,
            holdout_percent=DEFAULT_HOLDOUT,
            expires_at=now + EXPIRES_AFTER,
        )
        self._store.put(state)
        return state

    def current(self, author_id: int) -> Composing | None:
        """Where the author is, expired or not (the caller tells them which)."""
        return self._store.get(author_id)

    def choose(
        self, state: Composing, segment_text: str, holdout_percent: int, now: datetime
    ) -> Composing:
        """Record the segment (UnknownSegment when it is none) and ask for the text."""
        if not 0 <= holdout_percent <= 50:
            raise BadHoldout(percent=holdout_percent)
        _, canonical = parse_segment(segment_text, self._program)
        chosen = Composing(
            author_id=state.author_id,
            step=TEXT,
            segment=canonical,
            holdout_percent=holdout_percent,
            expires_at=now + EXPIRES_AFTER,
        )
        self._store.put(chosen)
        return chosen

    def leave(self, author_id: int) -> bool:
        """Stop composing; False when there was nothing to stop."""
        return self._store.clear(author_id)
