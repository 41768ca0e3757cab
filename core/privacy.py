"""Members' data rights: take it (`/export`) or have it erased (`/forget`).

An erasure keeps the ledger's amounts (docs/LEDGER.md, "Erasure"): journals, postings, lots and
balances stay, so the books balance and the liability is unchanged, while everything that names
the person goes: chat identities, names, usernames, birthday, free-text reasons, and the
parameters of messages that name them. Each forgotten chat identity leaves a tombstone, a keyed
hash of (platform, external id): the id itself is gone, yet an adapter that meets the same
person again (Slack enrols colleagues it sees) can tell not to enrol them until they /start.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from core.errors import DomainError
from core.ports import Clock
from core.privacy_model import Erasure, PrivacyRepository, PrivacyStore

log = logging.getLogger(__name__)

ERASED = "Erased member"  # what history, leaderboards and other members' messages show instead
EXPORT_VERSION = 1


class LeftProgram(DomainError):
    """The person asked to be forgotten and has not joined again."""

    code = "left_program"


@dataclass(frozen=True, kw_only=True)
class MemberExport:
    """A member's data as one JSON document."""

    member_id: int
    code: str
    document: bytes
    journals: int


class Privacy:
    """Export and erasure of one member's data, with an audit row for each."""

    def __init__(self, store: PrivacyStore, clock: Clock, key: bytes) -> None:
        self._store = store
        self._clock = clock
        self._key = key

    def identity_hash(self, platform: str, external_id: str) -> str:
        """The keyed hash a tombstone is stored under (nobody can test ids without the key)."""
        message = f"{platform}\x00{external_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def export(self, member_id: int, actor_id: int | None = None) -> MemberExport:
        """Everything stored about the member, as JSON; audited."""
        now = self._clock.now()

        def work(repo: PrivacyRepository) -> dict[str, list[dict[str, Any]]]:
            data: dict[str, list[dict[str, Any]]] = repo.export(member_id)
            repo.audit("export", member_id, actor_id, now)
            return data

        data = self._store.run(work)
        for journal in data["journals"]:  # meta is JSON text in the database: nest it
            journal["meta"] = json.loads(journal["meta"] or "{}")
        for message in data["messages"]:
            message["params"] = json.loads(message["params"] or "{}")
        for broadcast in data["broadcasts"]:  # SQLite answers 0/1 for booleans
            broadcast["holdout"] = bool(broadcast["holdout"])
        for gift in data["gifts"]:
            gift["revoked"] = bool(gift["revoked"])
        profile = data["profile"][0] if data["profile"] else {}
        document = {"format": "loyalty-export", "version": EXPORT_VERSION,
                    "exported_at": now.isoformat(), **data, "profile": profile}  # fmt: skip
        log.info("privacy: export of member %s by member %s", member_id, actor_id)
        return MemberExport(
            member_id=member_id,
            code=str(profile.get("code", member_id)),
            document=json.dumps(document, ensure_ascii=False, indent=2, default=str).encode(),
            journals=len(data["journals"]),
        )

    def forget(self, member_id: int, actor_id: int | None = None) -> Erasure:
        """Erase what names the member (amounts stay); audited, in one transaction."""
        now = self._clock.now()

        def work(repo: PrivacyRepository) -> Erasure:
            target = repo.target(member_id)
            hashes = [self.identity_hash(p, e) for p, e in target.identities]
            replacements: list[tuple[str, str]] = []
            for (_, external_id), hashed in zip(target.identities, hashes, strict=True):
                stand_in = f"erased-{hashed[:16]}"
                replacements += [(f":{external_id}", f":{stand_in}"),
                                 (json.dumps(external_id), json.dumps(stand_in))]  # fmt: skip
            for text in {target.name, *target.names, *target.usernames,
                         *(f"@{u}" for u in target.usernames)} - {""}:  # fmt: skip
                replacements += [(json.dumps(text, ensure_ascii=False), json.dumps(ERASED)),
                                 (json.dumps(text), json.dumps(ERASED))]  # fmt: skip
            erasure = repo.erase(target, replacements, hashes, ERASED, now)
            repo.audit("forget", member_id, actor_id, now)
            return erasure

        erasure = self._store.run(work)
        log.info("privacy: member %s erased by member %s", member_id, actor_id)
        return erasure

    def forgotten(self, platform: str, external_id: str) -> bool:
        """True when this chat identity was forgotten (and has not come back by /start)."""
        hashed = self.identity_hash(platform, external_id)
        return bool(self._store.run(lambda repo: repo.forgotten(hashed), write=False))
