"""The environment's boundary (issue points 3, 11 and 13): placeholder secrets, settings
without their partner, and the documented names agreeing with what is built."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.settings import Settings, describe

ROOT = Path(__file__).resolve().parents[2]
REAL = {
    "telegram_bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
    "telegram_webhook_url": "https://bot.example.com/telegram/webhook",
    "telegram_webhook_secret": "q8Wd2lPZk3sV9xYt7Nc4",
    "slack_bot_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
    "slack_signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
    "pos_webhook_secret": "b7c1e9f04a2d4c8e9f1a",
    "metrics_token": "m3tr1cs-0f-th3-sh0p-xyz",
}


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_real_secrets_are_accepted() -> None:
    assert settings(**REAL).slack_signing_secret == REAL["slack_signing_secret"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("telegram_webhook_secret", "changeme"),
        ("telegram_webhook_secret", "secret"),
        ("slack_signing_secret", "<your-signing-secret>"),
        ("slack_signing_secret", "short"),
        ("pos_webhook_secret", "xxxxxxxxxxxxxxxxxxxx"),
        ("metrics_token", "your-metrics-token"),
        ("telegram_bot_token", "123:ABC"),
        ("slack_bot_token", "xoxb-your-token"),
    ],
)
def test_placeholder_secrets_are_refused_unless_in_development(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**{**REAL, name: value})
    line = describe(refused.value)
    assert name.upper() in line and "LOYALTY_ENV=development" in line and "\n" not in line
    assert getattr(settings(**{**REAL, name: value}, loyalty_env="development"), name) == value


def test_empty_values_mean_unset_as_in_the_example_file() -> None:
    configured = settings(telegram_bot_token="", slack_signing_secret="  ", metrics_token="")
    assert configured.telegram_bot_token is None and configured.metrics_token is None
    assert not configured.has_chat_platform


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"telegram_webhook_url": REAL["telegram_webhook_url"]}, "TELEGRAM_BOT_TOKEN is not"),
        ({"slack_signing_secret": REAL["slack_signing_secret"]}, "SLACK_BOT_TOKEN is not"),
        ({"slack_app_token": "xapp-1-A0123-4567-abcdef"}, "SLACK_BOT_TOKEN is not"),
        ({"slack_bot_token": REAL["slack_bot_token"]}, "needs one of them"),
        (
            {
                "telegram_bot_token": REAL["telegram_bot_token"],
                "telegram_webhook_url": REAL["telegram_webhook_url"],
            },
            "needs TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {
                "telegram_bot_token": REAL["telegram_bot_token"],
                "telegram_webhook_secret": "has spaces in it, so Telegram refuses",
            },
            "only letters, digits",
        ),
        ({"http_port": "eighty"}, "HTTP_PORT"),
    ],
)
def test_a_setting_without_its_partner_is_one_line(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(loyalty_env="development", **values)
    line = describe(refused.value)
    assert problem in line and "\n" not in line


def _example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def test_env_example_lists_exactly_the_settings() -> None:
    assert _example_names() == {name.upper() for name in Settings.model_fields}


def test_the_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert {name.upper() for name in Settings.model_fields} <= set(
        re.findall(r"`([A-Z_]+)`", table)
    )
