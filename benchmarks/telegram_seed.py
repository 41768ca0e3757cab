"""Databases for the Telegram benchmarks: many members in bulk, a few with real ledger history.

The bulk members are written with `executemany` on the bare driver after the migrations ran
(`storage.migrate.upgrade`, what `loyalty db upgrade` does), in the very shape the storage
layer writes them (a member, its Telegram identity, its three accounts). The members the
benchmark talks to are enrolled and funded through the core, so their ledger is consistent.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from benchmarks.seed import fund_for_redeeming
from benchmarks.settings import PROGRAM_FILE
from bot.clock import SystemClock
from core.commands import RecordPurchase
from core.loyalty import Loyalty
from core.model import Identity
from core.program import load_program
from storage.database import SqlDatabase
from storage.migrate import upgrade

# Telegram user ids of the bulk members start here; the measured users sit below it.
BULK_USER_BASE = 5_000_000_000
MEASURED_USER_BASE = 1_000_000
_ACCOUNTS = ("available", "pending", "debt")
# What `core.notifications` puts under a points receipt.
BALANCE_BUTTON = json.dumps([[{"label": "button.balance", "params": {}, "command": "/balance"}]])


def _text_time(moment: datetime) -> str:
    """How storage's SQLite flavour stores a timestamp (naive UTC, fixed width)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def bulk_members(path: str, count: int, first_user: int = BULK_USER_BASE) -> list[int]:
    """`count` members with Telegram identities `first_user`...; their member ids."""
    if count <= 0:
        return []
    created = _text_time(datetime.now(UTC))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")  # seeding only; the bot opens it normally
        conn.execute("BEGIN")
        start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM member").fetchone()[0] + 1
        ids = list(range(start, start + count))
        conn.executemany(
            "INSERT INTO member (id, code, code_key, display_name, role, language, created_at,"
            " referred_by) VALUES (?, ?, ?, ?, 0, 'en', ?, NULL)",
            # 8 characters: core codes have 7, so they can never collide.
            ((i, f"S{i:07d}", f"S{i:07d}", f"Member {i}", created) for i in ids),
        )
        conn.executemany(
            "INSERT INTO identity (platform, external_id, member_id, username, username_key,"
            " display_name, language, time_zone) VALUES ('telegram', ?, ?, ?, ?, ?, 'en', NULL)",
            ((str(first_user + n), i, f"m{i}", f"m{i}", f"Member {i}") for n, i in enumerate(ids)),
        )
        conn.executemany(
            "INSERT INTO account (member_id, purpose, balance, version) VALUES (?, ?, 0, 0)",
            ((i, purpose) for i in ids for purpose in _ACCOUNTS),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return ids


def balance_database(path: str, members: int, users: int) -> list[int]:
    """A migrated SQLite file with `members` members; `users` of them (returned: their
    Telegram user ids) enrolled through the core with available lots and pending purchases."""
    url = sqlite_url(path)
    upgrade(url)
    bulk_members(path, max(0, members - users))
    database = SqlDatabase.from_url(url)
    try:
        loyalty = Loyalty(database, load_program(PROGRAM_FILE), SystemClock())
        user_ids = [MEASURED_USER_BASE + n for n in range(users)]
        member_ids = []
        for user in user_ids:
            identity = Identity(
                platform="telegram",
                external_id=str(user),
                display_name=f"User {user}",
                username=f"u{user}",
                language="en",
            )
            member_ids.append(loyalty.enroll(identity).member.id)
        # Available lots of 50-150 points with distinct expiry dates ...
        fund_for_redeeming(loyalty, member_ids, points_each=600, lot_points=100)
        # ... and recent purchases: pending lots and tier-qualifying spend.
        for member_id in member_ids:
            for k in range(2):
                receipt = f"bench-tg-{member_id}-{k}"
                loyalty.record_purchase(
                    RecordPurchase(member_id=member_id, receipt=receipt, amount_minor=450 + 100 * k)
                )
    finally:
        database.dispose()
    # Those purchases queued "points earned" notifications: settle them, or the dispatcher
    # would send them to the very chats whose replies are being counted.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("UPDATE outbox SET status = 'sent', sent_at = created_at")
    finally:
        conn.close()
    return user_ids


def outbox_database(path: str, notifications: int) -> list[int]:
    """A migrated SQLite file with `notifications` queued points_earned rows, one per member,
    each member with its own Telegram chat; the chat (user) ids."""
    upgrade(sqlite_url(path))
    first_user = BULK_USER_BASE
    ids = bulk_members(path, notifications, first_user)
    now = datetime.now(UTC)
    created, due = _text_time(now), _text_time(now - timedelta(seconds=1))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO outbox (member_id, message_key, params, buttons, category, dedupe_key,"
            " status, attempts, not_before, created_at) VALUES (?, 'notify.points_earned', ?, ?,"
            " 'transactional', ?, 'queued', 0, ?, ?)",
            (
                (
                    member_id,
                    json.dumps({"points": 10 + n % 90, "receipt": f"R-{n}"}, separators=(",", ":")),
                    BALANCE_BUTTON,
                    f"points_earned:bench-{n}",
                    due,
                    created,
                )
                for n, member_id in enumerate(ids)
            ),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return [first_user + n for n in range(len(ids))]
