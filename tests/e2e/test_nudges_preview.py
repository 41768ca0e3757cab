"""`loyalty nudges preview`: the operator's dry run prints what would go, to whom and why, and
queues nothing; `loyalty broadcast send --preview` says who would get it and sends nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.bootstrap import build
from bot.settings import Settings
from core.model import Identity


def test_preview_prints_and_queues_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'preview.db'}"
    settings = Settings(_env_file=None, database_url=url, loyalty_env="development")  # type: ignore[call-arg]
    services = build(settings)
    try:
        ann = services.loyalty.enroll(
            Identity(platform="telegram", external_id="1", display_name="Ann")
        ).member
        services.loyalty.set_birthday(ann.id, date(1990, 3, 14))
    finally:
        services.close()
    env = {**os.environ, "DATABASE_URL": url, "LOYALTY_ENV": "development"}
    cli = [sys.executable, "-m", "bot"]
    out = subprocess.run(
        [*cli, "nudges", "preview", "--at", "2027-03-14T10:30"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"birthday          {ann.code} Ann" in out.stdout
    assert "birthday today (2027-03-14), 100 bonus points" in out.stdout
    assert "1 nudges would go at 2027-03-14T14:30+00:00" in out.stdout
    bad = subprocess.run(
        [*cli, "nudges", "preview", "--at", "tomorrow-ish"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "--at:" in bad.stderr and "Traceback" not in bad.stderr
    shown = subprocess.run(
        [*cli, "broadcast", "send", "all", "Hello", "--preview"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert shown.returncode == 0 and "1 members, 0 (10%) held back" in shown.stdout
    refused = subprocess.run(
        [*cli, "broadcast", "send", "nobody", "Hello"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "broadcast_unknown_segment" in refused.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM outbox WHERE category <> 'transactional'"
                                 " OR dedupe_key LIKE 'nudge:%'")).scalar_one() == 0  # fmt: skip
        assert (
            conn.execute(text("SELECT COUNT(*) FROM journal WHERE key LIKE 'nudge:%'")).scalar_one()
            == 0
        )
    engine.dispose()
