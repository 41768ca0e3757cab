"""Slack's 429s, read leniently: a Retry-After that is missing or not a number (a proxy's
error page, say) means one second, instead of an exception out of the Web API client."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

DEFAULT_WAIT = 1.0
LONGEST_WAIT = 300.0


def retry_after(headers: Mapping[str, Any]) -> float:
    """Seconds a 429 asks to wait: its Retry-After header when that is a number, else 1."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list | tuple) and value else value
            try:
                seconds = float(str(text).strip())
            except ValueError:
                return DEFAULT_WAIT
            return min(max(seconds, 0.0), LONGEST_WAIT) if seconds == seconds else DEFAULT_WAIT
    return DEFAULT_WAIT


class LenientRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 retry, with `retry_after` reading the header; `seen` (the 429 metric)
    is told of each 429 it waits out."""

    def __init__(self, max_retry_count: int = 1, seen: Callable[[], None] | None = None) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._seen = seen

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait as the 429 asks (plus jitter), then try again."""
        if response is None:
            raise error or RuntimeError("a rate-limit retry without a response")
        if self._seen is not None:
            self._seen()
        state.next_attempt_requested = True
        await asyncio.sleep(retry_after(response.headers) + random.random())
        state.increment_current_attempt()
