"""Partial-index predicates, shared by the tables and by the queries that must repeat them.

Kept apart from `storage.tables` so the query modules do not import SQLModel at runtime.
"""

AVAILABLE_OPEN = "state = 'available' AND remaining > 0"
PENDING_OPEN = "state = 'pending' AND remaining > 0"
VOUCHER_UNUSED = "used_at IS NULL AND returned_at IS NULL"
# An outbox row that is a nudge (core.nudges: the outbox's dedupe key is this prefix + the
# nudge's), and one that is a win-back (its category is the kind's own).
NUDGE_KEY = "nudge:"
NUDGE_ROWS = f"dedupe_key LIKE '{NUDGE_KEY}%'"
# The nudge's own dedupe key within the outbox's, in SQL.
NUDGE_OWN_KEY = f"substr(dedupe_key, {len(NUDGE_KEY) + 1})"
WINBACK_ROWS = "category = 'winback'"
