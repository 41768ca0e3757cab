"""Members: enrollment with accounts, lookups by identity, code and username."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.codes import normalize_code
from core.model import Identity, Member, Role
from core.preferences import Preferences
from storage.database import SqlDatabase
from tests.storage.helpers import T0, add_member, identity


def test_add_creates_the_member_its_identity_and_accounts(db: SqlDatabase) -> None:
    ann, accounts = add_member(db, "ann", code="K7Q-4MX2")
    assert (ann.code, ann.display_name, ann.role, ann.created_at) == (
        "K7Q-4MX2",
        "Ann",
        Role.MEMBER,
        T0,
    )
    assert ann.referred_by is None
    # No choices made yet: the defaults (platform's or program's zone, 21:00-09:00, all on).
    assert db.run(lambda uow: uow.preferences.get(ann.id), write=False) == Preferences()
    assert db.run(lambda uow: uow.members.by_identity("telegram", "id-ann")) == ann
    assert db.run(lambda uow: uow.members.by_id(ann.id)) == ann
    assert db.run(lambda uow: uow.members.identities(ann.id)) == [identity("ann")]
    assert accounts.available < accounts.pending < accounts.debt
    assert db.run(lambda uow: uow.members.by_identity("slack", "id-ann")) is None
    assert db.run(lambda uow: uow.members.by_id(ann.id + 100)) is None


def test_referrer_is_stored(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    bob = db.run(lambda uow: uow.members.add("B-1", identity("bob"), Role.STAFF, T0, ann.id))
    assert db.run(lambda uow: uow.members.by_id(bob.id)) == bob
    assert (bob.referred_by, bob.role) == (ann.id, Role.STAFF)


@pytest.mark.parametrize(
    "typed", ["K7Q-4MX2", "k7q4mx2", "K7Q 4MX2", " k7q-4mx2 ", "K7Q-4MX2".replace("K", "k")]
)
def test_by_code_forgives_case_and_separators(db: SqlDatabase, typed: str) -> None:
    ann, _ = add_member(db, "ann", code="K7Q-4MX2")
    assert db.run(lambda uow: uow.members.by_code(typed)) == ann


def test_by_code_maps_letters_that_look_like_digits(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann", code="A01-1B0")
    for typed in ("AO1-IBO", "aoi-lbo", "A0L1B0", "AOIIBO"):
        assert _by_code(db, typed) == ann
    assert db.run(lambda uow: uow.members.by_code("A01-1B8")) is None
    assert normalize_code("k7q-4mx2") == "K7Q4MX2"


def test_by_username_ignores_case_and_at_sign(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    for typed in ("ann", "@ann", "ANN", "@AnN"):
        assert _by_username(db, typed) == ann
    assert db.run(lambda uow: uow.members.by_username("anne")) is None
    assert db.run(lambda uow: uow.members.by_username("@")) is None


def test_by_username_refuses_an_ambiguous_match(db: SqlDatabase) -> None:
    add_member(db, "ann")
    add_member(db, "ann2", platform="slack")
    db.run(lambda uow: _rename(uow, "ann2"))
    assert db.run(lambda uow: uow.members.by_username("ann")) is None


def test_by_username_prefers_the_speakers_platform(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    other, _ = add_member(db, "ann2", platform="slack")
    db.run(lambda uow: _rename(uow, "ann2"))
    assert db.run(lambda uow: uow.members.by_username("@ann", "telegram")) == ann
    assert db.run(lambda uow: uow.members.by_username("@ann", "slack")) == replace(
        other, display_name="Ann Two"
    )
    assert db.run(lambda uow: uow.members.by_username("@ann", "console")) is None


def test_refresh_identity_updates_names_and_username(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    new = Identity(
        platform="telegram",
        external_id="id-ann",
        display_name="Ann B.",
        username="AnnB",
        language="de",
        time_zone="Europe/Berlin",
    )
    db.run(lambda uow: uow.members.refresh_identity(ann.id, new))
    db.run(lambda uow: uow.members.refresh_identity(ann.id, new))  # unchanged: no write
    assert db.run(lambda uow: uow.members.identities(ann.id)) == [new]
    assert db.run(lambda uow: uow.members.by_username("annb")) == replace(
        ann, display_name="Ann B."
    )
    assert db.run(lambda uow: uow.members.by_username("ann")) is None


def test_set_role(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    db.run(lambda uow: uow.members.set_role(ann.id, Role.ADMIN))
    found = db.run(lambda uow: uow.members.by_id(ann.id))
    assert found is not None and found.role is Role.ADMIN


def test_accounts_of_an_unknown_member(db: SqlDatabase) -> None:
    with pytest.raises(LookupError):
        db.run(lambda uow: uow.members.accounts(12345))


def _rename(uow: object, name: str) -> None:
    members = uow.members  # type: ignore[attr-defined]
    member = members.by_identity("slack", f"id-{name}")
    members.refresh_identity(
        member.id,
        Identity(
            platform="slack", external_id=f"id-{name}", display_name="Ann Two", username="Ann"
        ),
    )


def _by_code(db: SqlDatabase, code: str) -> Member | None:
    return db.run(lambda uow: uow.members.by_code(code))


def _by_username(db: SqlDatabase, username: str) -> Member | None:
    return db.run(lambda uow: uow.members.by_username(username))
