"""`core.ports.LedgerRepository`: journals, accounts, lots and history on one transaction."""

from __future__ import annotations

from core.model import Purpose
from storage.repositories.accounts import AccountStore
from storage.repositories.history import HistoryStore
from storage.repositories.journals import JournalStore
from storage.repositories.lots import LotStore
from storage.sql import Sql


class SqlLedgerRepository(JournalStore, AccountStore, LotStore, HistoryStore):
    """The ledger port, assembled from its parts (each in its own module)."""

    __slots__ = ("_sql", "_system_ids", "created_system_ids")

    def __init__(self, sql: Sql, system_ids: dict[Purpose, int]) -> None:
        self._sql = sql
        self._system_ids = system_ids
        self.created_system_ids = {}
