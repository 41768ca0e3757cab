"""Hand-written SQL run on the driver's own cursor, inside the transaction `SqlDatabase` opened.

Why not SQLAlchemy Core here: measured on SQLite, a Core `Connection.execute` costs 15-25 µs
per statement and a `Connection` + `begin()` another ~30 µs per transaction, against 2-5 µs for
the driver; a ledger journal runs about ten statements, so Core would halve its rate. SQLAlchemy
still provides the pool, the engine events and the migrations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from operator import attrgetter
from typing import Any, Protocol, cast

from storage.types import require_aware

Row = tuple[Any, ...]
Params = Mapping[str, Any] | Sequence[Any]

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Query:
    """One statement written with `:name` parameters, rendered for each driver at import time.

    `{name}` fields are filled from `fragments`: module constants such as column lists and
    partial-index predicates, never input (which always travels as parameters).
    """

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, sql: str, *, postgresql: str | None = None, **fragments: str) -> None:
        self.sqlite = sql.format_map(fragments)
        pg = self.sqlite if postgresql is None else postgresql.format_map(fragments)
        # psycopg uses %(name)s placeholders, so literal percent signs must be doubled.
        self.postgresql = _NAMED.sub(r"%(\1)s", pg.replace("%", "%%"))


class Cursor(Protocol):
    """The part of a DB-API cursor that sqlite3 and psycopg share and we use."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Params = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...
    def close(self) -> None: ...


class Flavor:
    """What differs between the drivers: placeholders, timestamps and how a transaction begins."""

    name = ""
    placeholder = ""

    def begin(self, cursor: Cursor, write: bool) -> None:
        """Start the transaction (if the driver does not do it by itself)."""

    def bind_time(self, value: datetime) -> Any:
        """A timestamp as the driver should receive it."""
        return require_aware(value)

    def read_time(self, value: Any) -> datetime:
        """A timestamp the driver returned, as an aware UTC datetime."""
        return cast(datetime, value).astimezone(UTC)

    def bind_day(self, value: date) -> Any:
        """A calendar day as the driver should receive it."""
        return value

    def read_day(self, value: Any) -> date:
        """A calendar day the driver returned."""
        return cast(date, value)


class SqliteFlavor(Flavor):
    """sqlite3: text timestamps in UTC, and BEGIN IMMEDIATE for writes."""

    name = "sqlite"
    placeholder = "?"

    def begin(self, cursor: Cursor, write: bool) -> None:
        """Take the write lock up front (waiting up to busy_timeout), or read a snapshot."""
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def bind_time(self, value: datetime) -> Any:
        """Fixed-width naive UTC text (SQLAlchemy's SQLite format): text order is time order."""
        return require_aware(value).replace(tzinfo=None).isoformat(" ", "microseconds")

    def read_time(self, value: Any) -> datetime:
        """Parse the stored UTC text."""
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def bind_day(self, value: date) -> Any:
        """ISO text, as SQLAlchemy's Date keeps it on SQLite."""
        return value.isoformat()

    def read_day(self, value: Any) -> date:
        """Parse the stored ISO text."""
        return date.fromisoformat(value)


class PostgresFlavor(Flavor):
    """psycopg 3: timestamptz in and out; it begins transactions implicitly."""

    name = "postgresql"
    placeholder = "%s"


_FLAVORS: dict[str, Flavor] = {"sqlite": SqliteFlavor(), "postgresql": PostgresFlavor()}


def flavor_for(dialect_name: str) -> Flavor:
    """The flavor for a SQLAlchemy dialect name."""
    return _FLAVORS[dialect_name]


@cache
def insert_rows(flavor: Flavor, head: str, rows: int, columns: int) -> str:
    """`head` (an INSERT up to VALUES) followed by `rows` rows of positional placeholders."""
    row = "(" + ", ".join([flavor.placeholder] * columns) + ")"
    return f"{head} VALUES {', '.join([row] * rows)}"


@cache
def in_list(flavor: Flavor, head: str, count: int) -> str:
    """`head` (a statement ending in `IN`) followed by `count` positional placeholders."""
    return f"{head} ({', '.join([flavor.placeholder] * count)})"


class Sql:
    """Runs queries on one transaction's cursor."""

    __slots__ = ("_cursor", "_pick", "flavor")

    def __init__(self, cursor: Cursor, flavor: Flavor) -> None:
        self._cursor = cursor
        self._pick = attrgetter(flavor.name)
        self.flavor = flavor

    def one(self, query: Query, params: Params = ()) -> Row | None:
        """The first row, or None."""
        return cast(Row | None, self._cursor.execute(self._pick(query), params).fetchone())

    def all(self, query: Query, params: Params = ()) -> list[Row]:
        """Every row."""
        return cast(list[Row], self._cursor.execute(self._pick(query), params).fetchall())

    def run(self, query: Query, params: Params = ()) -> int:
        """Execute; the number of rows affected."""
        return int(self._cursor.execute(self._pick(query), params).rowcount)

    def all_text(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of SQL already written for this driver (see `in_list`)."""
        return cast(list[Row], self._cursor.execute(sql, params).fetchall())

    def run_text(self, sql: str, params: Params = ()) -> int:
        """Execute SQL already written for this driver (see `insert_rows`); rows affected."""
        return int(self._cursor.execute(sql, params).rowcount)


@cache
def select_rows(flavor: Flavor, names: tuple[str, ...], rows: int) -> str:
    """A derived table of `rows` rows of positional placeholders with these column names."""
    one = ", ".join(f"{flavor.placeholder} AS {name}" for name in names)
    return "(" + " UNION ALL ".join([f"SELECT {one}"] * rows) + ")"


@cache
def unnest_rows(types: tuple[str, ...]) -> str:
    """PostgreSQL: rows from one array parameter per column, e.g. `unnest(%b::int[], ...)`.

    A multi-row VALUES list makes psycopg re-parse a long query text on every batch (it
    caches only short ones); arrays keep the text short and constant. `%b` sends them in
    binary: the text format escapes every element with regular expressions.
    """
    arrays = ", ".join(f"%b::{t}[]" for t in types)
    return f"SELECT * FROM unnest({arrays})"  # noqa: S608 (type names from our code only)
