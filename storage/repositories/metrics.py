"""Aggregates Prometheus reads at scrape time: journals by kind, outbox rows by status."""

from __future__ import annotations

from storage.sql import Query, Sql

_JOURNALS = Query("SELECT kind, COUNT(*) FROM journal GROUP BY kind ORDER BY kind")
_OUTBOX = Query(
    "SELECT COALESCE(channel_platform, 'member'), category, status, COUNT(*) FROM outbox"
    " GROUP BY COALESCE(channel_platform, 'member'), category, status"
)


def journal_counts(sql: Sql) -> list[tuple[str, int]]:
    """(kind, journals) of the whole ledger."""
    return [(str(r[0]), int(r[1])) for r in sql.all(_JOURNALS)]


def outbox_counts(sql: Sql) -> list[tuple[str, str, str, int]]:
    """(platform, category, status, rows) of the outbox."""
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in sql.all(_OUTBOX)]
