"""The report as a chat reply, as text, CSV and JSON (what `/report` and `loyalty report` print)."""

from __future__ import annotations

import csv
import io
import json

from bot.render import Renderer
from bot.replies import Line, Money, Reply
from core.reports import Figure, Report


def report_lines(report: Report) -> list[Line]:
    """The report's header and every section's figures as catalog lines."""
    header = Line(
        "report.header",
        {"first": report.period.first, "last": report.period.last, "currency": report.currency},
    )
    lines = [header]
    for section in report.sections:
        if section.figures:
            lines.append(Line(f"report.section.{section.name}"))
            lines.extend(_line(report, figure) for figure in section.figures)
    return lines


def report_reply(report: Report) -> Reply:
    """The report as a chat reply (the charts are attached by the command)."""
    return Reply(report_lines(report))


def report_text(report: Report, renderer: Renderer, language: str) -> str:
    """The report as plain text in `language`."""
    return renderer.text(report_reply(report), language)


def report_json(report: Report) -> str:
    """The report as one JSON object (money and rates as decimal strings)."""
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2)


def report_csv(report: Report) -> str:
    """The report as CSV rows `section,figure,value`, nested figures named with dots."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "figure", "value"])
    for section in report.sections:
        for name, value in _flat(section.data):
            writer.writerow([section.name, name, "" if value is None else value])
    return out.getvalue()


def _flat(data: object, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts and lists as (dotted name, value) pairs."""
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        return [(prefix, data)]
    rows: list[tuple[str, object]] = []
    for key, value in items:
        rows.extend(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return rows


# Parameters whose values are words of the program's vocabulary, shown through the catalogs
# in the reader's language (JSON and CSV keep the words themselves, for scripts).
_WORDS = {"kind": "report.kind", "category": "category"}


def _line(report: Report, figure: Figure) -> Line:
    """A figure's line; parameters named `*_minor` shown as the program's money, journal kinds
    and message categories by their names in the reader's language."""
    params = {name: _param(report, name, value) for name, value in figure.params.items()}
    return Line(figure.key, params)


def _param(report: Report, name: str, value: object) -> object:
    if name.endswith("_minor") and isinstance(value, int):
        return Money(value, report.currency, report.currency_decimals)
    if name in _WORDS and isinstance(value, str):
        return Line(f"{_WORDS[name]}.{value}")
    return value
