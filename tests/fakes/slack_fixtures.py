"""Pytest fixtures for the fake Slack Web API.

Use from a test module or conftest with ``pytest_plugins = ["tests.fakes.slack_fixtures"]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.fakes.slack_api import FakeSlackApi


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlackApi]:
    """A started ``FakeSlackApi`` in the test's event loop; ``base_url=fake_slack.api_url``."""
    async with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def fake_slack_thread() -> Iterator[FakeSlackApi]:
    """A ``FakeSlackApi`` in a background thread (use ``wait_for_sync``), e.g. for subprocesses."""
    with FakeSlackApi.run_in_thread() as fake:
        yield fake
