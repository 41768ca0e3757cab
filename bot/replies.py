"""Reply models: what the bot says, as message keys and parameters, never as text.

Adapters render a Reply for their platform (Telegram HTML + keyboards, Slack blocks,
console text) in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Line:
    """One catalog message with its parameters."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Button:
    """A tap that runs `command` (a chat command line) as the person who taps it, or, with a
    `url`, opens that page."""

    label: Line
    command: str = ""
    url: str | None = None


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file sent after the reply's text: a `photo` (a PNG chart) or a `document` (an export)."""

    filename: str
    data: bytes
    kind: str = "document"  # "photo" or "document"
    caption: Line | None = None


@dataclass(frozen=True)
class Reply:
    lines: list[Line]
    buttons: list[list[Button]] = field(default_factory=list)
    image_png: bytes | None = None
    language: str | None = None
    # Files that follow the text, in order (charts, a data export).
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def say(cls, key: str, /, **params: object) -> Reply:
        """A one-line reply."""
        return cls([Line(key, params)])


@dataclass(frozen=True)
class Money:
    """An amount of money for display, in minor units of `currency`."""

    minor: int
    currency: str
    decimals: int = 2


@dataclass(frozen=True)
class Progress:
    """A percentage shown as a bar."""

    percent: int


@dataclass(frozen=True)
class Signed:
    """A points change shown with its sign."""

    points: int


@dataclass(frozen=True)
class LanguageName:
    """A language code shown as the language's own name ("Türkçe")."""

    code: str


@dataclass(frozen=True)
class DayMonth:
    """A day of the year without its year ("14 Mar"): a birthday."""

    day: date


@dataclass(frozen=True)
class LocalTime:
    """A time of day (HH:mm) in the zone the datetime carries: the reader's own, not the
    program's."""

    at: datetime


@dataclass(frozen=True)
class Timestamp:
    """A moment shown with date and time (plain datetimes show the date only)."""

    at: datetime


@dataclass(frozen=True)
class Weekday:
    """A local day shown as its weekday's name ("Sunday"): a deadline within the week."""

    day: date
