"""Secrets, signatures and nonces are compared in constant time (hmac.compare_digest), never
with == : checked on the source, so a new comparison cannot slip in."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"secret|signature|token|nonce|digest|expected", re.IGNORECASE)


def _named(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _named(node.func)
    return None


def equality_on_secrets(path: Path) -> list[int]:
    """Lines where `path` compares something named like a secret with == or !=."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        names = [_named(side) for side in (node.left, *node.comparators)]
        if any(name and SECRET_NAME.search(name) for name in names):
            found.append(node.lineno)
    return found


def test_no_secret_is_compared_with_equals() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("bot", "core", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in equality_on_secrets(path)
    ]
    assert offenders == []


def test_the_check_finds_an_equality(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def ok(given, secret):\n    return given == secret\n", encoding="utf-8")
    assert equality_on_secrets(sample) == [2]
