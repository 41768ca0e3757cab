"""Broadcast segments: who a staff broadcast goes to.

`all`, a tier (`gold`), `inactive:<days>`, `challenge:<id>`, `lang:<code>`, `platform:<name>`,
or several joined with `+`, each narrowing the audience (`gold+lang:tr`: Gold members who
read Turkish). Storage turns a Segment into one SQL query (`storage.broadcast_store`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import DomainError
from core.program import Program

PLATFORMS = ("telegram", "slack", "console")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
MAX_INACTIVE_DAYS = 3650


class UnknownSegment(DomainError):
    """A segment nobody can be in: the reply lists what a segment may be."""

    code = "broadcast_unknown_segment"


@dataclass(frozen=True, kw_only=True)
class Segment:
    """Conditions that all hold for a member of the audience (none: everyone)."""

    tier: str | None = None  # a tier id
    base_tier: bool = False  # the tier is the first one (members without a stored tier too)
    inactive_days: int | None = None
    challenge: str | None = None
    language: str | None = None
    platform: str | None = None

    @property
    def platforms(self) -> Sequence[str]:
        """The platforms its members may be reached on (for the length limit)."""
        return (self.platform,) if self.platform else PLATFORMS


def parse_segment(text: str, program: Program) -> tuple[Segment, str]:
    """The segment and its canonical spelling; UnknownSegment for anything else."""
    found: dict[str, object] = {}
    parts = [part for part in text.strip().lower().split("+") if part]
    if not parts:
        raise UnknownSegment(segment=text)
    for part in parts:
        name, _, value = part.partition(":")
        if part == "all" and len(parts) == 1:
            continue
        if not value and (index := _tier(program, part)) is not None:
            _once(found, "tier", program.tiers[index].id, text)
            found["base_tier"] = index == 0
        elif name == "inactive" and value.isdigit() and 0 < int(value) <= MAX_INACTIVE_DAYS:
            _once(found, "inactive_days", int(value), text)
        elif name == "challenge" and program.challenge(value) is not None:
            _once(found, "challenge", value, text)
        elif name == "lang" and _LANGUAGE.fullmatch(value):
            _once(found, "language", value, text)
        elif name == "platform" and value in PLATFORMS:
            _once(found, "platform", value, text)
        else:
            raise UnknownSegment(segment=text)
    segment = Segment(**found)  # type: ignore[arg-type]
    return segment, "+".join(parts)


def _tier(program: Program, text: str) -> int | None:
    for index, tier in enumerate(program.tiers):
        if text in (tier.id, tier.name.lower()):
            return index
    return None


def _once(found: dict[str, object], name: str, value: object, text: str) -> None:
    if name in found:  # gold+silver: nobody is in two tiers
        raise UnknownSegment(segment=text)
    found[name] = value
