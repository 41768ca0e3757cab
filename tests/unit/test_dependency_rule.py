"""The dependency rule of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE_ALLOWED_THIRD_PARTY = {"pydantic"}
COMPOSITION_ROOT = ROOT / "bot" / "bootstrap.py"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_core_imports_only_the_standard_library_and_pydantic() -> None:
    import sys

    allowed = set(sys.stdlib_module_names) | CORE_ALLOWED_THIRD_PARTY | {"core", "__future__"}
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files("core")
        for name in imported_modules(path) - allowed
    }
    assert not offenders


def test_only_the_composition_root_imports_storage() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("bot")
        if path != COMPOSITION_ROOT and "storage" in imported_modules(path)
    ]
    assert offenders == []


def test_nothing_imports_bot_outside_bot() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("core", "storage")
        for path in python_files(package)
        if "bot" in imported_modules(path)
    ]
    assert offenders == []


def test_storage_does_not_import_adapters() -> None:
    platform_libraries = {"telegram", "slack_bolt", "slack_sdk", "apscheduler"}
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("storage")
        if imported_modules(path) & platform_libraries
    ]
    assert offenders == []
