"""Pytest fixtures for the Telegram adapter in webhook mode; use with
``pytest_plugins = ["tests.fakes.fixtures", "tests.adapters.telegram_fixtures"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.adapters.telegram_support import Harness, running_webhook
from tests.fakes.telegram_api import FakeTelegramApi


@pytest_asyncio.fixture
async def hooked(fake_telegram: FakeTelegramApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot in webhook mode on the fake Bot API (updates go through `webhook_client`)."""
    async with running_webhook(fake_telegram, tmp_path) as harness:
        yield harness
