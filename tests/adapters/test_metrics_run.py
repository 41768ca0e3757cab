"""`GET /metrics` of a real `loyalty run` after a scripted Telegram session, parsed with
prometheus-client's own text parser: the counters say what happened."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.telegram_api import FakeTelegramApi, make_command_update

TOKEN = "k3Jq8vN2xR5tW9zL"  # a METRICS_TOKEN of the shape production accepts
ANN, BEA = 77, 78


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(port: int) -> Samples:
    answer = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_metrics_count_a_scripted_session(tmp_path: Path) -> None:
    port = _free_port()
    with FakeTelegramApi.run_in_thread() as fake:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "TELEGRAM_BOT_TOKEN": "123:ABC",
            "LOYALTY_ENV": "development",
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "HTTP_PORT": str(port),
            "METRICS_TOKEN": TOKEN,
            "LOYALTY_ADMINS": f"telegram:{ANN}",
        }
        env.pop("TELEGRAM_WEBHOOK_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE
        )
        try:
            # Start-up (imports, migrations) on a busy machine may take a while: a deadline.
            fake.wait_for_sync(lambda: fake.calls_to("getUpdates"), timeout=60)
            script = [
                (ANN, "/start", None),
                (BEA, "/start", "bea"),
                (BEA, "/balance", "bea"),
                (BEA, "/frobnicate", "bea"),  # unknown
                (BEA, "/earn @bea 5", "bea"),  # denied: a member
                (ANN, "/earn @bea 12.40 R-1", None),
                (ANN, "/earn", None),  # usage
            ]
            answered = {ANN: 0, BEA: 0}
            for chat, line, username in script:
                update = make_command_update(fake.next_update_id(), chat, line, username)
                fake.push_update(update)
                answered[chat] += 1
                count = answered[chat]
                fake.wait_for_sync(lambda c=chat, n=count: len(fake.sent_messages(c)) >= n, 10)

            assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401
            wrong = {"Authorization": "Bearer not-the-token"}
            assert httpx.get(f"http://127.0.0.1:{port}/metrics", headers=wrong).status_code == 401

            # Bea's receipt of points goes out through the outbox: wait until nothing is queued.
            def drained() -> Samples | None:
                samples = _scrape(port)
                queued = sum(
                    v for (name, labels), v in samples.items()
                    if name == "loyalty_outbox_rows" and ("status", "queued") in labels
                )  # fmt: skip
                sent = _value(samples, "loyalty_outbox_rows", platform="member",
                              category="transactional", status="sent")  # fmt: skip
                return samples if sent >= 1 and queued == 0 else None

            samples = _until(drained, 20, "the outbox to drain")
            # The expiry sweep runs 10 s after the start: wait for its first run.
            samples = _until(
                lambda: (
                    (s := _scrape(port))
                    and _value(
                        s, "loyalty_scheduler_job_runs_total", job="expire-due", outcome="ok"
                    )
                    and s
                ),
                30,
                "the expiry job",
            )
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr.decode()

    commands = {
        (dict(labels)["command"], dict(labels)["outcome"]): value
        for (name, labels), value in samples.items()
        if name == "loyalty_commands_total"
    }
    assert commands == {
        ("start", "ok"): 2,
        ("balance", "ok"): 1,
        ("unknown", "unknown"): 1,
        ("earn", "denied"): 1,
        ("earn", "ok"): 1,
        ("earn", "usage"): 1,
    }
    assert _value(samples, "loyalty_reply_seconds_count", command="earn") == 3
    assert _value(samples, "loyalty_reply_seconds_count", command="start") == 2
    assert _value(samples, "loyalty_ledger_journals_total", kind="award") == 2  # welcome points
    assert _value(samples, "loyalty_ledger_journals_total", kind="earn") == 1
    sent_rows = _value(
        samples, "loyalty_outbox_rows", platform="member", category="transactional", status="sent"
    )
    sent = _value(
        samples,
        "loyalty_outbox_messages_total",
        platform="telegram",
        category="transactional",
        status="sent",
    )
    assert sent == sent_rows >= 1  # the dispatcher's count agrees with the table
    assert _value(samples, "loyalty_rate_limited_total", platform="telegram") == 0
    assert _value(samples, "loyalty_scheduler_leader") == 1
    assert _value(samples, "loyalty_scheduler_job_seconds_count", job="expire-due") >= 1
    assert _value(samples, "loyalty_db_retries_total") == 0


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    from bot.bootstrap import build
    from bot.metrics import MetricsComponent
    from bot.platforms import platform_components
    from bot.settings import Settings

    for enabled in (True, False):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite:///{tmp_path / 'off.db'}",
            loyalty_env="development",
            metrics_enabled=enabled,
        )
        services = build(settings)
        try:
            served = [c for c in platform_components(services) if isinstance(c, MetricsComponent)]
            assert len(served) == (1 if enabled else 0)
        finally:
            services.close()
