"""The migrations' revisions, read from their files without importing Alembic.

Importing Alembic (with the Mako and Pygments it loads) takes most of a short command's
start-up, such as `loyalty report`'s, just to learn that the database is up to date. The
files' `revision` and `down_revision` assignments and the database's `alembic_version` row
say as much; Alembic itself is imported only to migrate.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import Connection, inspect, text

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"


def revisions() -> dict[str, str | None]:
    """Every migration's revision and the one it revises (None for the first)."""
    found: dict[str, str | None] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name, value = node.targets[0].id, node.value
            else:
                continue
            if name in ("revision", "down_revision") and isinstance(value, ast.Constant):
                values[name] = value.value
        if isinstance(revision := values.get("revision"), str):
            down = values.get("down_revision")
            found[revision] = down if isinstance(down, str) else None
    return found


def head() -> str | None:
    """The latest revision (the one no other revises); None when there is not exactly one."""
    found = revisions()
    heads = set(found) - {down for down in found.values() if down is not None}
    return next(iter(heads)) if len(heads) == 1 else None


def current_revision(connection: Connection) -> str | None:
    """The revision the database was migrated to; None when it never was."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])
