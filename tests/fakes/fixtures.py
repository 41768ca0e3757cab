"""Pytest fixtures for the fakes; import them into a test module or a conftest."""

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.telegram_api import FakeTelegramApi


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramApi]:
    """A started fake Telegram Bot API, stopped after the test."""
    async with FakeTelegramApi() as fake:
        yield fake
