"""`storage.revisions` reads the same chain of migrations as Alembic, and the same current
revision from a database, without importing Alembic (start-up of short commands)."""

from __future__ import annotations

import subprocess
import sys

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import SqlDatabase
from storage.migrate import alembic_config
from storage.revisions import current_revision, head, revisions


def test_the_files_say_what_alembic_says() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert head() == scripts.get_current_head()
    assert revisions() == {
        script.revision: script.down_revision  # type: ignore[misc]
        for script in scripts.walk_revisions()
    }


def test_the_current_revision_is_alembics(db: SqlDatabase) -> None:
    with db.engine.connect() as connection:
        assert current_revision(connection) == head()
        assert (
            current_revision(connection)
            == MigrationContext.configure(connection).get_current_revision()
        )


def test_checking_a_migrated_database_does_not_import_alembic(migrated_url: str) -> None:
    code = (
        "import sys; from storage.readiness import ready_database;"
        f" ready_database({migrated_url!r}, migrate=True).dispose();"
        " print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"
