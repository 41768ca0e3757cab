"""A platform-neutral chat request: who says which command, with what arguments."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from core.model import Identity


@dataclass(frozen=True)
class ChatRequest:
    """One command from one person; `key` identifies the delivery (update or event id)."""

    identity: Identity
    command: str
    args: tuple[str, ...]
    key: str

    @classmethod
    def parse(cls, identity: Identity, text: str, key: str) -> ChatRequest | None:
        """A request from a chat line like "/earn K7Q-4MX2 12.40 R-1"; None if not a command."""
        text = text.strip()
        if not text.startswith("/"):
            return None
        try:
            words = shlex.split(text)
        except ValueError:  # an unbalanced quote: fall back to plain words
            words = text.split()
        command = words[0][1:].split("@", 1)[0].lower()
        return cls(identity, command, tuple(words[1:]), key)
