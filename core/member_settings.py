"""The member's /settings: language, time zone, quiet hours and message categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from core import categories, errors
from core.members import get_member
from core.model import Member
from core.ports import UnitOfWork
from core.preferences import QuietHours, ZoneSource, chosen_zone
from core.program import Program
from core.zones import parse_zone, zone_of


@dataclass(frozen=True, kw_only=True)
class MemberSettings:
    """Where a member stands in /settings."""

    member: Member
    zone: str
    zone_source: ZoneSource
    default_zone: str  # the zone without the member's own choice: their platform's or program's
    local_now: datetime
    quiet_hours: QuietHours
    quiet_default: bool
    subscriptions: tuple[tuple[str, bool], ...]  # (marketing category, receives it)
    leaderboard: bool | None = None  # shown to others on leaderboards (None: the program has none)
    birthday: date | None = None  # for the birthday nudge (the year 2000 when none was given)


def settings_of(uow: UnitOfWork, program: Program, member_id: int, now: datetime) -> MemberSettings:
    """The member's settings as they hold now, defaults filled in."""
    member = get_member(uow, member_id)
    preferences = uow.preferences.get(member_id)
    identities = uow.members.identities(member_id)
    program_zone = (program.program.timezone, ZoneSource.PROGRAM)
    zone, source = chosen_zone(preferences, identities) or program_zone
    default_zone, _ = chosen_zone(replace(preferences, time_zone=None), identities) or program_zone
    return MemberSettings(
        member=member,
        zone=zone,
        zone_source=source,
        default_zone=default_zone,
        local_now=now.astimezone(zone_of(zone, program.zone)),
        quiet_hours=preferences.quiet,
        quiet_default=preferences.quiet_hours is None,
        subscriptions=tuple(
            (category, preferences.receives(category)) for category in categories.MARKETING
        ),
        leaderboard=(
            not uow.leaderboard.is_hidden(member_id) if program.leaderboard is not None else None
        ),
        birthday=uow.members.birthday(member_id),
    )


def choose_language(uow: UnitOfWork, member_id: int, language: str) -> None:
    """The language the member reads."""
    uow.members.set_language(member_id, language)


def choose_zone(uow: UnitOfWork, member_id: int, text: str | None) -> None:
    """A time zone by name, city or offset; None goes back to the platform's or program's."""
    if text is None:
        uow.preferences.set_time_zone(member_id, None)
        return
    try:
        zone = parse_zone(text)
    except ValueError:
        raise errors.UnknownTimeZone(text=text) from None
    uow.preferences.set_time_zone(member_id, zone)


def choose_quiet_hours(uow: UnitOfWork, member_id: int, text: str | None) -> None:
    """Quiet hours such as `22:00-08:00` or `off`; None goes back to the default."""
    quiet = None if text is None else QuietHours.parse(text)
    uow.preferences.set_quiet_hours(member_id, quiet)


def subscribe(
    uow: UnitOfWork, member_id: int, wanted: Sequence[str], receive: bool, now: datetime
) -> None:
    """Opt in to (or out of) marketing categories; transactional messages cannot be refused."""
    for category in wanted:
        if category not in categories.MARKETING:
            raise errors.UnknownCategory(category=category, known=list(categories.MARKETING))
        uow.preferences.set_opted_out(member_id, category, not receive, now)


def choose_leaderboard(uow: UnitOfWork, member_id: int, shown: bool, now: datetime) -> None:
    """Appear on leaderboards to others, or not (the member always sees their own rank)."""
    uow.leaderboard.set_hidden(member_id, not shown, now)
