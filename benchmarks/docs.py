"""Writing a benchmark's latest table into docs/BENCHMARKS.md between its own markers."""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, start: str, end: str, body: str) -> bool:
    """Put `body` between the `start` and `end` markers of `doc`; False if it has none."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{start}\n{body}{end}{tail}", encoding="utf-8")
    return True
