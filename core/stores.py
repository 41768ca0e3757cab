"""The `[[stores]]` section of the program file, and each store's daily check-in code.

A store's code is derived from a server secret, the store and its local date, so it changes at
the store's midnight, differs between stores, and cannot be worked out without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.codes import ALPHABET, normalize_code
from core.windows import local_day

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
CODE_LENGTH = 4  # 20 bits: about a million codes a day per store, guessed only under a limit


class Store(BaseModel):
    """A physical store where members check in (ids as the purchase API names stores)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    name: str = Field(min_length=1, max_length=60)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def zone(self, program_zone: tzinfo) -> tzinfo:
        """The store's own time zone, else the program's."""
        return ZoneInfo(self.timezone) if self.timezone else program_zone

    def today(self, now: datetime, program_zone: tzinfo) -> date:
        """The store's local date at `now`."""
        return local_day(now, self.zone(program_zone))


def check_stores(stores: list[Store]) -> None:
    """Store ids are unique."""
    ids = [s.id for s in stores]
    if len(ids) != len(set(ids)):
        raise ValueError("stores: ids must be unique")


def store_code(secret: bytes, store_id: str, day: date) -> str:
    """The check-in code of a store on its local `day`, such as 7KQ2."""
    digest = hmac.new(secret, f"checkin:{store_id}:{day.isoformat()}".encode(), hashlib.sha256)
    number = int.from_bytes(digest.digest()[:4], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def code_matches(secret: bytes, store_id: str, day: date, typed: str) -> bool:
    """True when `typed` is the store's code for `day` (case and O/0, I/L/1 forgiven)."""
    expected = store_code(secret, store_id, day)
    return hmac.compare_digest(normalize_code(typed).encode(), expected.encode())


def find_store(stores: list[Store], text: str) -> Store | None:
    """The store with this id or name (any case), if any."""
    wanted = text.strip().lower()
    return next((s for s in stores if wanted in (s.id, s.name.lower())), None)
