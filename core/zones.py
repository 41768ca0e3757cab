"""Time zones as people type them: an IANA name, a city, or an offset from UTC.

A zone is stored as text: an IANA name ("Europe/Istanbul") or a fixed offset ("+03:00").
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_UTC_NAMES = frozenset({"utc", "gmt", "z", "utc+0", "utc-0", "gmt+0", "gmt-0"})
# Offsets in use on Earth run from -12:00 to +14:00.
_LOWEST, _HIGHEST = timedelta(hours=-12), timedelta(hours=14)
# When a city is under several regions (Europe/Istanbul and Asia/Istanbul), the first wins.
_REGIONS = ("Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian")


def parse_zone(text: str) -> str:
    """The canonical name of the zone `text` means; ValueError when there is none.

    Accepts IANA names in any case ("europe/istanbul"), a city alone when it is unambiguous
    ("Istanbul", "new york"), and offsets ("+03:00", "+3", "UTC-05:30", "GMT+5:45").
    """
    cleaned = text.strip()
    if cleaned.lower() in _UTC_NAMES:
        return "UTC"
    if (offset := _OFFSET.fullmatch(cleaned)) is not None:
        return _offset_name(*offset.groups())
    key = cleaned.replace(" ", "_").lower()
    names = _zone_names()
    if key in names:
        return names[key]
    if "/" not in key and (city := _cities().get(key)) is not None:
        return city
    raise ValueError(f"unknown time zone {text!r}")


def zone_of(name: str | None, fallback: tzinfo) -> tzinfo:
    """The zone stored as `name`, or `fallback` when it is missing or unknown."""
    if not name:
        return fallback
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def is_zone(name: str) -> bool:
    """True when `name` is a zone this module can load (an IANA name or an offset)."""
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _zone(name: str) -> tzinfo:
    if (offset := _OFFSET.fullmatch(name)) is not None:
        sign, hours, minutes = offset.groups()
        return timezone(_offset(sign, hours, minutes))
    return ZoneInfo(name)


def _offset(sign: str, hours: str, minutes: str | None) -> timedelta:
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if int(minutes or 0) >= 60:
        raise ValueError("minutes must be below 60")
    return -delta if sign in "-−" else delta


def _offset_name(sign: str, hours: str, minutes: str | None) -> str:
    delta = _offset(sign, hours, minutes)
    if not _LOWEST <= delta <= _HIGHEST:
        raise ValueError(f"offset {delta} is outside -12:00..+14:00")
    if not delta:
        return "UTC"
    total = int(abs(delta).total_seconds()) // 60
    return f"{'-' if delta < timedelta(0) else '+'}{total // 60:02d}:{total % 60:02d}"


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA name, keyed by its lower-case form."""
    return {name.lower(): name for name in available_timezones()}


@cache
def _cities() -> dict[str, str]:
    """City (the last part of a regional IANA name, lower case) -> the zone it names."""
    found: dict[str, str] = {}
    for region in reversed(_REGIONS):  # earlier regions overwrite later ones
        for name in sorted(available_timezones()):
            if name.startswith(region + "/"):
                found[name.rsplit("/", 1)[1].lower()] = name
    return found
