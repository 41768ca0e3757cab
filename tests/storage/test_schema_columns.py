"""`storage.schema_columns` lists exactly the tables and columns the models declare: the
start-up schema check reads that list instead of importing the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.migrate import upgrade
from storage.schema_columns import COLUMNS
from storage.tables import metadata


def test_the_list_matches_the_models() -> None:
    declared = {
        table.name: tuple(column.name for column in table.columns)
        for table in sorted(metadata.sorted_tables, key=lambda table: table.name)
    }
    listed = "".join(f"    {name!r}: {columns!r},\n" for name, columns in declared.items())
    assert declared == COLUMNS, f"write this in storage/schema_columns.py:\n{listed}"


def test_the_start_up_check_does_not_import_the_models(tmp_path: Path) -> None:
    """Opening an up-to-date database (what `loyalty report` does) loads neither the models
    nor SQLModel: checked in a fresh interpreter, whose modules are its own."""
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    upgrade(url)
    code = (
        "import sys\n"
        "from storage.readiness import ready_database\n"
        f"ready_database({url!r}, migrate=False).dispose()\n"
        "print('storage.tables' in sys.modules, 'sqlmodel' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"]
