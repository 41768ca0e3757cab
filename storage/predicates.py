"""Partial-index predicates, shared by the tables and by the queries that must repeat them.

Kept apart from `storage.tables` so the query modules do not import SQLModel at runtime.
"""

AVAILABLE_OPEN = "state = 'available' AND remaining > 0"
PENDING_OPEN = "state = 'pending' AND remaining > 0"
VOUCHER_UNUSED = "used_at IS NULL AND returned_at IS NULL"
# An outbox row that is a nudge (core.nudges: the outbox's dedupe key is "nudge:" + the
# nudge's), and one that is a win-back (its category is the kind's own).
NUDGE_ROWS = "dedupe_key LIKE 'nudge:%'"
WINBACK_ROWS = "category = 'winback'"
