"""Finding members the way staff refer to them, and managing roles."""

from __future__ import annotations

from datetime import datetime

from core import errors
from core.codes import looks_like_member_code
from core.events import RoleChanged
from core.model import Member, Role
from core.ports import UnitOfWork
from core.text import shown


def get_member(uow: UnitOfWork, member_id: int) -> Member:
    """The member with this id; MemberNotFound otherwise."""
    member = uow.members.by_id(member_id)
    if member is None:
        raise errors.MemberNotFound(ref=str(member_id))
    return member


def find_member(uow: UnitOfWork, ref: str, platform: str | None = None) -> Member:
    """A member by member code (K7Q-4MX2) or by @username (on `platform` first)."""
    text = ref.strip()
    member = None
    if text.startswith("@"):
        member = uow.members.by_username(text[1:], platform)
    elif looks_like_member_code(text):
        member = uow.members.by_code(text)
    else:
        member = uow.members.by_username(text, platform)
    if member is None:
        raise errors.MemberNotFound(ref=shown(text))
    return member


def change_role(
    uow: UnitOfWork,
    ref: str,
    role: Role,
    now: datetime,
    platform: str | None = None,
    actor_id: int | None = None,
) -> Member:
    """Give a member a role; returns the member as they are now."""
    member = find_member(uow, ref, platform)
    if member.role == role:
        return member
    uow.members.set_role(member.id, role)
    uow.domain_events.record(
        RoleChanged(
            occurred_at=now, member_id=member.id, previous=member.role, role=role, actor_id=actor_id
        )
    )
    return get_member(uow, member.id)
