"""The members behind a batch of outbox rows, with what decides how to reach them: one query
per table for the whole batch, where `core.delivery.audience_of` makes five per member."""

from __future__ import annotations

from collections import defaultdict

from core.delivery import Audience
from core.model import Identity
from core.preferences import Preferences, QuietHours
from storage.repositories.members import member_from_row
from storage.sql import Row, Sql, in_list

_MEMBERS = (
    "SELECT m.id, m.code, m.display_name, m.role, m.language, m.created_at, m.referred_by,"
    " m.time_zone, m.quiet_start, m.quiet_end FROM member m WHERE m.id IN"
)
_IDENTITIES = (
    "SELECT member_id, platform, external_id, display_name, username, language, time_zone"
    " FROM identity WHERE member_id IN"
)
_OPTED_OUT = "SELECT member_id, category FROM opt_out WHERE member_id IN"
_UNREACHABLE = "SELECT member_id, platform FROM unreachable WHERE member_id IN"


def read_audiences(sql: Sql, member_ids: list[int]) -> dict[int, Audience]:
    """Each member's audience (a member who is gone has none), as `audience_of` reads it."""
    if not member_ids:
        return {}

    def rows(head: str, order: str = "") -> list[Row]:
        return sql.all_text(in_list(sql.flavor, head, len(member_ids)) + order, member_ids)

    identities: defaultdict[int, list[Identity]] = defaultdict(list)
    order = " ORDER BY member_id, platform, external_id"
    for member_id, platform, external_id, name, username, language, zone in rows(
        _IDENTITIES, order
    ):
        identities[member_id].append(
            Identity(
                platform=platform,
                external_id=external_id,
                display_name=name,
                username=username,
                language=language,
                time_zone=zone,
            )
        )
    opted_out: defaultdict[int, set[str]] = defaultdict(set)
    for member_id, category in rows(_OPTED_OUT):
        opted_out[member_id].add(category)
    unreachable: defaultdict[int, set[str]] = defaultdict(set)
    for member_id, platform in rows(_UNREACHABLE):
        unreachable[member_id].add(str(platform))
    audiences: dict[int, Audience] = {}
    for row in rows(_MEMBERS):
        member = member_from_row(row[:7], sql.flavor)
        zone, start, end = row[7:]
        quiet = None
        if start is not None and end is not None:
            quiet = QuietHours.from_minutes(start, end)
        preferences = Preferences(
            time_zone=zone,
            quiet_hours=quiet,
            opted_out=frozenset(opted_out[member.id]),
        )
        audiences[member.id] = Audience(
            member=member,
            identities=identities[member.id],
            preferences=preferences,
            unreachable=frozenset(unreachable[member.id]),
        )
    return audiences
