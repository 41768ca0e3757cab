"""A platform-neutral chat request: who says which command, with what arguments.

This is the chat line's boundary: every adapter hands the text a person sent to
`ChatRequest.parse`, which checks it (length, control characters, broken characters) before
anything else reads it, and splits it into words in one linear pass.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from core.model import Identity
from core.text import INVISIBLE, has_control, is_readable

# Telegram's own limit for a message; Slack and the console get the same.
MAX_LINE = 4096
# The command name of a message that is not a command (`ChatRequest.read`): nobody can type
# it, since a typed command name never holds a space.
FREE_TEXT = "free text"

# A quote opens a group only at the start of a word and closes only at the end of one, so
# apostrophes ("Ann's review") stay ordinary letters.
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}
_WORD = re.compile(r"\S+")
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class ChatRequest:
    """One command from one person; `key` identifies the delivery (update or event id).

    `problem` is set when the line itself was refused ("too_long", "control",
    "unreadable"); the router answers with what is wrong instead of running anything.
    `text` is the whole line as typed (line breaks kept), for commands whose last argument
    is free prose, such as a broadcast's message (see `rest_of`).
    """

    identity: Identity
    command: str
    args: tuple[str, ...]
    key: str
    problem: str | None = None
    text: str = ""

    @classmethod
    def parse(cls, identity: Identity, text: str, key: str) -> ChatRequest | None:
        """A request from a chat line like "/earn K7Q-4MX2 12.40 R-1"; None if not a command."""
        problem = line_problem(text)
        if problem is not None:
            return cls(identity, "", (), key, problem)
        text = text.translate(INVISIBLE).strip()
        if not text.startswith("/"):
            return None
        words = split_words(text)
        command = words[0][1:].split("@", 1)[0].lower()
        return cls(identity, command, tuple(words[1:]), key, text=text)

    @classmethod
    def read(cls, identity: Identity, text: str, key: str) -> ChatRequest:
        """As `parse`, with a message that is not a command as a FREE_TEXT request carrying
        its text (the router's FREE_TEXT handler answers it: a step of a conversation, or a
        hint towards the commands)."""
        request = cls.parse(identity, text, key)
        if request is not None:
            return request
        return cls(identity, FREE_TEXT, (), key, text=text.translate(INVISIBLE).strip())


def rest_of(text: str, words: int) -> str:
    """`text` after its first `words` words, as typed: line breaks, quotes and runs of spaces
    kept (splitting into words would lose them). The skipped words are the leading command
    and arguments, which hold no spaces."""
    at = 0
    for _ in range(words):
        match = _WORD.search(text, at)
        if match is None:
            return ""
        at = match.end()
    return text[at:].strip()


def line_problem(text: str) -> str | None:
    """Why a chat line cannot be read at all, or None when it can."""
    if len(text) > MAX_LINE:  # first, so nothing below ever walks a huge line
        return "too_long"
    if not is_readable(text):
        return "unreadable"
    if has_control(text):
        return "control"
    return None


def addressee(text: str) -> str | None:
    """The bot a command is addressed to ("/balance@acme_bot" -> "acme_bot"), if it names one."""
    stripped = text.lstrip()
    if not stripped.startswith("/"):
        return None
    match = _WORD.match(stripped)
    head = match.group(0) if match else ""
    _, at, bot = head.partition("@")
    return bot if at else None


def split_words(text: str) -> list[str]:
    """Words separated by white space, a quoted group ("Free latte") being one word.

    Linear in the length of `text`: where each kind of quote may close is found in one pass
    beforehand, so an unclosed quote never makes the scan start over.
    """
    if not any(quote in text for quote in _QUOTES):
        return text.split()
    closers = _closing_positions(text)
    words: list[str] = []
    at, end = 0, len(text)
    while True:
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]  # \s* always matches
        if at >= end:
            return words
        close = _QUOTES.get(text[at])
        if close is not None:
            positions = closers[close]
            index = bisect_right(positions, at)
            if index < len(positions):
                words.append(text[at + 1 : positions[index]])
                at = positions[index] + 1
                continue
        word = _WORD.match(text, at)
        assert word is not None  # `at` is not white space
        words.append(word.group(0))
        at = word.end()


def _closing_positions(text: str) -> dict[str, list[int]]:
    """For each closing quote, the positions where it ends a word, in ascending order."""
    closers: dict[str, list[int]] = {close: [] for close in _QUOTES.values()}
    last = len(text) - 1
    for index, char in enumerate(text):
        if char in closers and (index == last or text[index + 1].isspace()):
            closers[char].append(index)
    return closers
