"""Joining the program: a member, their first identity, a code, a sign-up bonus."""

from __future__ import annotations

from datetime import datetime

from core.codes import looks_like_member_code, new_member_code
from core.commands import AwardPoints, Enroll
from core.earning import award_points
from core.events import MemberEnrolled
from core.model import Identity, Member, Role
from core.ports import UnitOfWork
from core.program import Program
from core.results import EnrollResult

REFERRAL_PREFIX = "ref-"


def enroll(uow: UnitOfWork, program: Program, command: Enroll, now: datetime) -> EnrollResult:
    """Enroll the person behind an identity, or greet an existing member again."""
    identity = command.identity
    existing = uow.members.by_identity(identity.platform, identity.external_id)
    if existing is not None:
        uow.members.refresh_identity(existing.id, identity)
        return EnrollResult(member=existing, created=False)
    if (imported := _imported_customer(uow, identity)) is not None:
        return EnrollResult(member=imported, created=True)
    referrer = None if command.returning else _referrer(uow, command.payload)
    member = uow.members.add(
        unused_code(uow), identity, Role.MEMBER, now, referrer.id if referrer else None
    )
    uow.domain_events.record(
        MemberEnrolled(
            occurred_at=now,
            member_id=member.id,
            platform=identity.platform,
            referred_by=referrer.id if referrer else None,
        )
    )
    bonus = 0
    if "signup" in program.awards.actions and not command.returning:
        award = AwardPoints(
            member_id=member.id, key=f"signup:{member.id}", reason="signup", action="signup"
        )
        bonus = award_points(uow, program, award, now).points
    return EnrollResult(
        member=member,
        created=True,
        bonus=bonus,
        referred_by=referrer,
        returning=command.returning,
    )


def _referrer(uow: UnitOfWork, payload: str | None) -> Member | None:
    if not payload or not payload.lower().startswith(REFERRAL_PREFIX):
        return None
    code = payload[len(REFERRAL_PREFIX) :]
    return uow.members.by_code(code) if looks_like_member_code(code) else None


def _imported_customer(uow: UnitOfWork, identity: Identity) -> Member | None:
    """The imported customer list's member with this username, now joining from a chat."""
    if not identity.username:
        return None
    member_id = uow.links.imported_waiting(identity.username, identity.platform)
    if member_id is None or not uow.members.add_identity(member_id, identity):
        return None
    return uow.members.by_id(member_id)


def unused_code(uow: UnitOfWork) -> str:
    """A member code no member has yet."""
    # 35 random bits make a collision rare; checking keeps it impossible.
    while True:
        code = new_member_code()
        if uow.members.by_code(code) is None:
            return code
