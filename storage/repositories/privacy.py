"""A member's data: everything the export lists, and the erasure of what names them.

The erasure keeps every amount (journals, postings, lots, balances, purchases, vouchers), so the
ledger still balances and the liability is unchanged; it removes the chat identities and erases
names, usernames, the birthday, free-text reasons and the parameters of messages that name the
member. Chat ids also sit inside idempotency keys (a Slack reaction's journal key holds the
giver's and receiver's user ids): they are replaced there by a keyed hash, so a key stays unique.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from core.privacy_model import Erasure, ForgetTarget, PrivacyRepository
from storage.predicates import NUDGE_OWN_KEY, NUDGE_ROWS
from storage.sql import Query, Sql

T = TypeVar("T")

_COLUMNS: dict[str, tuple[str, str]] = {
    # section: (columns, FROM ... WHERE with :member_id)
    "profile": (
        "id, code, display_name, role, language, created_at, referred_by, time_zone,"
        " quiet_start, quiet_end, birthday",
        "member WHERE id = :member_id",
    ),
    "identities": (
        "platform, external_id, username, display_name, language, time_zone",
        "identity WHERE member_id = :member_id ORDER BY platform, external_id",
    ),
    "journals": (
        "id, kind, key, effective_at, created_at, member_id, actor_id, meta",
        "journal WHERE member_id = :member_id OR id IN (SELECT p.journal_id FROM posting p"
        " JOIN account a ON a.id = p.account_id WHERE a.member_id = :member_id) ORDER BY id",
    ),
    "postings": (
        "p.journal_id, a.purpose, p.amount, p.balance_after",
        "posting p JOIN account a ON a.id = p.account_id WHERE a.member_id = :member_id"
        " ORDER BY p.id",
    ),
    "purchases": (
        "receipt, amount_minor, points, occurred_at, refunded_minor, refunded_points, store,"
        " channel",
        "purchase WHERE member_id = :member_id ORDER BY occurred_at",
    ),
    "vouchers": (
        "reward_id, points, voucher, created_at, valid_until, used_at, used_store, returned_at",
        "redemption WHERE member_id = :member_id ORDER BY id",
    ),
    "challenges": (
        "challenge_id, period, value, target, completed_at, reward_points, streak, updated_at",
        "challenge_progress WHERE member_id = :member_id ORDER BY period, challenge_id",
    ),
    "badges": (
        "challenge_id, period, badge_id, earned_at",
        "badge WHERE member_id = :member_id ORDER BY earned_at",
    ),
    "checkins": (
        "store_id, day, checked_in_at",
        "checkin WHERE member_id = :member_id ORDER BY checked_in_at",
    ),
    "gifts": (
        "key, giver_id, receiver_id, points, value_tags, reason, given_at, revoked, channel,"
        " channel_name",
        "gift WHERE giver_id = :member_id OR receiver_id = :member_id ORDER BY given_at",
    ),
    "referrals": (
        "friend_id, referrer_id, joined_at, status, purchased_at, referrer_points, friend_points",
        "referral WHERE friend_id = :member_id OR referrer_id = :member_id ORDER BY joined_at",
    ),
    "messages": (
        "id, message_key, params, category, status, created_at, sent_at",
        "outbox WHERE member_id = :member_id ORDER BY id",
    ),
    "opt_outs": ("category, since", "opt_out WHERE member_id = :member_id ORDER BY category"),
    # A nudge is its outbox row (also under "messages"); its kind is its category's
    # (core.nudges.KIND_CATEGORY: the same name but the birthday's).
    "nudges": (
        "CASE category WHEN 'birthday_wishes' THEN 'birthday' ELSE category END AS kind,"
        f" {NUDGE_OWN_KEY} AS dedupe_key, created_at AS planned_at",
        f"outbox WHERE member_id = :member_id AND {NUDGE_ROWS} ORDER BY created_at, dedupe_key",
    ),
    # Broadcasts whose audience they were drawn into (held back: they were not sent it).
    "broadcasts": (
        "b.id, b.segment, b.body, b.started_at, bm.holdout",
        "broadcast_member bm JOIN broadcast b ON b.id = bm.broadcast_id"
        " WHERE bm.member_id = :member_id ORDER BY b.id",
    ),
    "broadcasts_written": (
        "id, segment, body, status, created_at, started_at",
        "broadcast WHERE author_id = :member_id ORDER BY id",
    ),
}
_TOP_COMMA = re.compile(r",(?![^()]*\))")  # the commas between columns, not in a call's arguments
_QUERIES = {
    name: (tuple(c.strip().split(" AS ")[-1].split(".")[-1] for c in _TOP_COMMA.split(columns)),
           Query(f"SELECT {columns} FROM {where}"))  # noqa: S608 (constants only)
    for name, (columns, where) in _COLUMNS.items()
}  # fmt: skip

_IDENTITIES = Query(
    "SELECT platform, external_id, username, display_name FROM identity"
    " WHERE member_id = :member_id"
)
_NAME = Query("SELECT display_name FROM member WHERE id = :member_id")
_ERASE_MEMBER = Query(
    "UPDATE member SET display_name = :marker, language = NULL, time_zone = NULL,"
    " birthday = NULL WHERE id = :member_id OR merged_into = :member_id"
)
_DROP_IDENTITIES = Query("DELETE FROM identity WHERE member_id = :member_id")
# An erased member is left off every leaderboard (as `/settings leaderboard off` does).
_HIDE = Query(
    "INSERT INTO leaderboard_opt_out (member_id, since) VALUES (:member_id, :now)"
    " ON CONFLICT (member_id) DO NOTHING"
)
_DROP_LINK_CODES = Query("DELETE FROM link_code WHERE member_id = :member_id")
_TOMBSTONE = Query(
    "INSERT INTO forgotten_identity (identity_hash, forgotten_at) VALUES (:hash, :now)"
    " ON CONFLICT (identity_hash) DO NOTHING"
)
_FORGOTTEN = Query("SELECT 1 FROM forgotten_identity WHERE identity_hash = :hash")
_AUDIT = Query(
    "INSERT INTO privacy_audit (action, member_id, actor_id, at)"
    " VALUES (:action, :member_id, :actor_id, :at)"
)
_REASONS = Query(
    "SELECT DISTINCT reason FROM gift WHERE (giver_id = :member_id OR receiver_id = :member_id)"
    " AND reason <> ''"
)
_GIFT_REASONS = Query(
    "UPDATE gift SET reason = '' WHERE giver_id = :member_id OR receiver_id = :member_id"
)
# The member's journals and those of gifts they gave or received: free text lives in `ref`.
_JOURNALS = Query(
    "SELECT id, kind, meta FROM journal WHERE member_id = :member_id OR actor_id = :member_id"
    " OR id IN (SELECT journal_id FROM gift WHERE receiver_id = :member_id)"
)
_SET_META = Query("UPDATE journal SET meta = :meta WHERE id = :id")
# Broadcasts they received or wrote, whose text may name them (staff's free text): the text is
# rewritten where it does, in the broadcast and in each of its queued messages.
_BROADCASTS = Query(
    "SELECT id, body FROM broadcast WHERE author_id = :member_id OR id IN"
    " (SELECT broadcast_id FROM broadcast_member WHERE member_id = :member_id)"
)
_SET_BODY = Query("UPDATE broadcast SET body = :body WHERE id = :id")
_BROADCAST_MESSAGES = Query(
    "SELECT id, params FROM outbox WHERE dedupe_key LIKE :prefix AND lower(params) LIKE :needle"
)
_SET_PARAMS = Query("UPDATE outbox SET params = :params WHERE id = :id")
_MESSAGES_TO = Query(
    "UPDATE outbox SET params = '{{}}', last_error = NULL WHERE member_id = :member_id"
)
# Columns that can hold a chat id (keys built from delivery ids, guessers) or a name inside JSON.
_KEY_COLUMNS = (
    ("journal", "key"),
    ("journal", "meta"),
    ("gift", "key"),
    ("inbound_delivery", "key"),
    ("inbound_delivery", "payload"),  # an update not handled yet holds the whole message
    ("attempt", "subject"),
    ("outbox", "dedupe_key"),
    ("outbox", "params"),
    ("outbox", "last_error"),
)
_REPLACE = {
    (table, column): Query(
        f"UPDATE {table} SET {column} = REPLACE({column}, :needle, :replacement)"  # noqa: S608
        f" WHERE instr({column}, :needle) > 0",
        postgresql=f"UPDATE {table} SET {column} = REPLACE({column}, :needle, :replacement)"  # noqa: S608
        f" WHERE strpos({column}, :needle) > 0",
    )
    for table, column in _KEY_COLUMNS
}
# Free-text kinds: what staff or a giver wrote travels in the journal's `ref`.
_FREE_TEXT_KINDS = frozenset({"award", "recognize", "revoke", "clawback", "adjust"})


class SqlPrivacyRepository:
    """`core.privacy_model.PrivacyRepository` on one transaction's cursor."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def export(self, member_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the member, section by section, JSON-ready."""
        return {
            name: [
                dict(zip(names, (self._plain(v) for v in row), strict=True))
                for row in self._sql.all(query, {"member_id": member_id})
            ]
            for name, (names, query) in _QUERIES.items()
        }

    def _plain(self, value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        return value

    def target(self, member_id: int) -> ForgetTarget:
        """The member's name and chat identities: what the erasure must find."""
        name_row = self._sql.one(_NAME, {"member_id": member_id})
        rows = self._sql.all(_IDENTITIES, {"member_id": member_id})
        return ForgetTarget(
            member_id=member_id,
            name=str(name_row[0]) if name_row else "",
            identities=tuple((str(r[0]), str(r[1])) for r in rows),
            usernames=tuple(str(r[2]) for r in rows if r[2]),
            names=tuple(str(r[3]) for r in rows if r[3]),
        )

    def erase(
        self,
        target: ForgetTarget,
        replacements: Sequence[tuple[str, str]],
        tombstones: Sequence[str],
        marker: str,
        now: datetime,
    ) -> Erasure:
        """Erase what names the member, keep every amount, remember the tombstones."""
        member = {"member_id": target.member_id}
        texts = self._erase_free_text(target, marker)
        texts += self._erase_broadcast_texts(target, marker)
        # The reasons of their gifts also travel in the notifications to the other person.
        reasons = [str(r[0]) for r in self._sql.all(_REASONS, member)]
        replacements = [
            *replacements,
            *((json.dumps(r, ensure_ascii=False), '""') for r in reasons),
            *((json.dumps(r), '""') for r in reasons),
        ]
        self._sql.run(_GIFT_REASONS, member)
        self._sql.run(_MESSAGES_TO, member)
        replaced = 0
        for needle, replacement in replacements:
            for query in _REPLACE.values():
                replaced += self._sql.run(query, {"needle": needle, "replacement": replacement})
        identities = self._sql.run(_DROP_IDENTITIES, member)
        self._sql.run(_DROP_LINK_CODES, member)
        self._sql.run(_ERASE_MEMBER, {**member, "marker": marker})
        at = self._sql.flavor.bind_time(now)
        self._sql.run(_HIDE, {**member, "now": at})
        for identity_hash in tombstones:
            self._sql.run(_TOMBSTONE, {"hash": identity_hash, "now": at})
        return Erasure(identities=identities, texts=texts + replaced)

    def _erase_free_text(self, target: ForgetTarget, marker: str) -> int:
        """Reasons in the member's journals emptied; their name in any value replaced."""
        names = {
            target.name,
            *target.names,
            *target.usernames,
            *(f"@{u}" for u in target.usernames),
        }
        names.discard("")
        changed = 0
        for journal_id, kind, meta_text in self._sql.all(
            _JOURNALS, {"member_id": target.member_id}
        ):
            meta = json.loads(meta_text or "{}")
            erased = {
                key: ("" if key == "ref" and kind in _FREE_TEXT_KINDS
                      else marker if isinstance(value, str) and value in names else value)
                for key, value in meta.items()
            }  # fmt: skip
            if erased != meta:
                self._sql.run(_SET_META, {"id": journal_id, "meta": json.dumps(erased)})
                changed += 1
        return changed

    def _erase_broadcast_texts(self, target: ForgetTarget, marker: str) -> int:
        """Their names, as whole words in any case, replaced in the text of broadcasts they
        received or wrote and in those broadcasts' messages (to them and to everyone else)."""
        pattern = _names_pattern(_names(target))
        if pattern is None:
            return 0
        changed = 0
        for broadcast_id, body in self._sql.all(_BROADCASTS, {"member_id": target.member_id}):
            erased = pattern.sub(marker, str(body))
            if erased == body:
                continue
            self._sql.run(_SET_BODY, {"id": broadcast_id, "body": erased})
            changed += 1
            for name in _names(target):
                params = {"prefix": f"broadcast:{broadcast_id}:%", "needle": f"%{name.lower()}%"}
                for message_id, text in self._sql.all(_BROADCAST_MESSAGES, params):
                    rewritten = json.dumps(_rewrite(json.loads(text), pattern, marker))
                    self._sql.run(_SET_PARAMS, {"id": message_id, "params": rewritten})
                    changed += 1
        return changed

    def forgotten(self, identity_hash: str) -> bool:
        """True when an identity with this keyed hash was forgotten."""
        return self._sql.one(_FORGOTTEN, {"hash": identity_hash}) is not None

    def audit(self, action: str, member_id: int, actor_id: int | None, now: datetime) -> None:
        """One audit row: who exported or erased whose data, when."""
        params = {"action": action, "member_id": member_id, "actor_id": actor_id,
                  "at": self._sql.flavor.bind_time(now)}  # fmt: skip
        self._sql.run(_AUDIT, params)


class SqlPrivacyStore:
    """`core.privacy_model.PrivacyStore`: privacy work in one transaction of `run_sql`."""

    def __init__(self, run_sql: Callable[..., Any]) -> None:
        self._run_sql = run_sql

    def run(self, work: Callable[[PrivacyRepository], T], *, write: bool = True) -> T:
        """`work` in one transaction (committed when it returns)."""
        result: T = self._run_sql(lambda sql: work(SqlPrivacyRepository(sql)), write=write)
        return result


def _names(target: ForgetTarget) -> list[str]:
    """Every text that names the member: name, chat names, usernames and @usernames."""
    names = {target.name, *target.names, *target.usernames, *(f"@{u}" for u in target.usernames)}
    return sorted(names - {""}, key=len, reverse=True)


def _names_pattern(names: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of `names` as a whole word (longest first)."""
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _rewrite(value: Any, pattern: re.Pattern[str], marker: str) -> Any:
    """`value` (JSON) with every string's matches of `pattern` replaced by `marker`."""
    if isinstance(value, str):
        return pattern.sub(marker, value)
    if isinstance(value, list):
        return [_rewrite(item, pattern, marker) for item in value]
    if isinstance(value, dict):
        return {key: _rewrite(item, pattern, marker) for key, item in value.items()}
    return value
