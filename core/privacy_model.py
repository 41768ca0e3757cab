"""What privacy requests read and write: the member to erase, the outcome, and the port."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ForgetTarget:
    """A member about to be erased: the texts that name them."""

    member_id: int
    name: str
    identities: tuple[tuple[str, str], ...]  # (platform, external id)
    usernames: tuple[str, ...]
    names: tuple[str, ...]  # the chat profiles' display names


@dataclass(frozen=True, kw_only=True)
class Erasure:
    """What an erasure removed: chat identities, and texts rewritten."""

    identities: int
    texts: int


class PrivacyRepository(Protocol):
    """A member's data on storage (`storage.repositories.privacy`), within one transaction."""

    def export(self, member_id: int) -> dict[str, list[dict[str, Any]]]: ...
    def target(self, member_id: int) -> ForgetTarget: ...

    def erase(
        self,
        target: ForgetTarget,
        replacements: Sequence[tuple[str, str]],
        tombstones: Sequence[str],
        marker: str,
        now: datetime,
    ) -> Erasure: ...

    def forgotten(self, identity_hash: str) -> bool: ...
    def audit(self, action: str, member_id: int, actor_id: int | None, now: datetime) -> None: ...


class PrivacyStore(Protocol):
    """Runs privacy work in one transaction."""

    def run(self, work: Callable[[PrivacyRepository], T], *, write: bool = True) -> T: ...
