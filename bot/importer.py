"""CSV imports (`loyalty import-purchases`, `loyalty import-members`): streamed row by row,
committed in batches, idempotent by receipt or customer id, with a progress bar.

Memory stays flat however long the file is: one batch of parsed rows at a time, and the
rejected rows go straight to a side file. A batch is one transaction; when a row in it is
refused by the core, the batch is rolled back and run again row by row, so good rows still
go in and the bad one is rejected with its reason. Stopping (a crash, Ctrl-C) loses at most
the batch under way: a re-run skips what is in already and continues.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TextIO, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from core.errors import DomainError

Row = TypeVar("Row")
BATCH = 250


class RowWriter(Protocol):
    """The part of csv.writer used here."""

    def writerow(self, row: Sequence[object], /) -> object: ...


class Rejected(Exception):
    """A row that cannot be imported; the message is the reason written to the side file."""


@dataclass
class Summary:
    """What an import did."""

    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    expired: int = 0
    rejected_file: Path | None = None
    last_line: int = 1  # the last line whose batch was committed (1: the header)
    interrupted: bool = False

    @property
    def rows(self) -> int:
        return self.imported + self.duplicates + self.rejected


@dataclass(frozen=True)
class Outcome:
    """One row's result: new (and whether its points expired on arrival) or a duplicate."""

    new: bool
    expired: bool = False


@dataclass
class Kind(Generic[Row]):
    """What one kind of import needs: required columns, a row parser and a batch applier."""

    name: str
    required: tuple[str, ...]
    parse: Callable[[dict[str, str]], Row]
    apply: Callable[[Sequence[Row]], list[Outcome]]
    describe: Callable[[DomainError], str]
    optional: tuple[str, ...] = field(default_factory=tuple)


class RowsPerSecond(ProgressColumn):
    """Rows done and their rate (rich's own speed column counts the bar's bytes)."""

    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        rate = rows / task.elapsed if task.elapsed else 0.0
        return Text(f"{rows:,} rows · {rate:,.0f} rows/s", style="progress.data.speed")


def rejected_path(path: Path) -> Path:
    """Where rejected rows of `path` go: FILE.rejected.csv beside it."""
    return path.with_name(f"{path.stem}.rejected.csv")


def run_import(
    path: Path, kind: Kind[Row], *, batch: int = BATCH, console: Console | None = None
) -> Summary:
    """Import every row of a CSV file; Ctrl-C stops after the batch under way rolls back."""
    summary = Summary()
    side = rejected_path(path)
    with path.open(encoding="utf-8-sig", newline="") as source, _progress(console) as progress:
        task = progress.add_task(f"{kind.name} {path.name}", total=path.stat().st_size, rows=0)
        counted = _CountingLines(source)
        reader = csv.DictReader(counted)
        _check_columns(path, reader.fieldnames, kind.required)
        with side.open("w", encoding="utf-8", newline="") as rejects:
            writer = csv.writer(rejects)
            writer.writerow(["line", "reason", *(reader.fieldnames or [])])
            try:
                for chunk in _batches(reader, batch):
                    _import_batch(kind, chunk, summary, writer, reader.fieldnames or [])
                    summary.last_line = chunk[-1][0]
                    progress.update(task, completed=counted.read, rows=summary.rows)
            except KeyboardInterrupt:  # the batch under way rolled back; a re-run continues
                summary.interrupted = True
        if summary.rejected:
            summary.rejected_file = side
    if not summary.rejected:
        side.unlink(missing_ok=True)
    return summary


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )


class _CountingLines:
    """Iterates a text file's lines for csv, counting the characters read (the bar's unit)."""

    def __init__(self, source: TextIO) -> None:
        self._source = source
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._source:
            self.read += len(line)
            # csv refuses a NUL outright and would end the whole import; as another control
            # character it gets the row rejected instead.
            yield line.replace("\0", "\x01") if "\0" in line else line


def _check_columns(path: Path, found: Sequence[str] | None, required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in (found or [])]
    if missing:
        raise Rejected(f"{path.name}: missing column(s) {', '.join(missing)}")


def _batches(reader: csv.DictReader[str], size: int) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for raw in reader:
        chunk.append((reader.line_num, raw))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _import_batch(
    kind: Kind[Row],
    chunk: list[tuple[int, dict[str, str]]],
    summary: Summary,
    writer: RowWriter,
    columns: Sequence[str],
) -> None:
    parsed: list[tuple[int, dict[str, str], Row]] = []
    for line, raw in chunk:
        try:
            parsed.append((line, raw, kind.parse(raw)))
        except Rejected as reason:
            _reject(summary, writer, columns, line, raw, str(reason))
    if not parsed:
        return
    try:
        outcomes = kind.apply([row for _, _, row in parsed])
    except DomainError:  # one row is refused: the batch rolled back; go row by row
        for line, raw, row in parsed:
            try:
                _count(summary, kind.apply([row]))
            except DomainError as error:
                _reject(summary, writer, columns, line, raw, kind.describe(error))
        return
    _count(summary, outcomes)


def _count(summary: Summary, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.new:
            summary.imported += 1
            summary.expired += outcome.expired
        else:
            summary.duplicates += 1


def _reject(
    summary: Summary,
    writer: RowWriter,
    columns: Sequence[str],
    line: int,
    raw: dict[str, str],
    reason: str,
) -> None:
    summary.rejected += 1
    writer.writerow([line, reason, *(raw.get(name, "") for name in columns)])
