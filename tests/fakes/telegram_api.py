"""A local fake of the Telegram Bot API that the real python-telegram-bot client can talk to.

Point PTB at it with ``ApplicationBuilder().token(T).base_url(fake.base_url)
.base_file_url(fake.base_file_url)``; requests then arrive at ``POST /bot{token}/{method}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from tests.fakes.faults import Fault, FaultSwitch
from tests.fakes.loop_thread import loop_in_thread

T = TypeVar("T")

BOT_ID = 7_000_000_001
BOT_USERNAME = "loyalty_test_bot"
MESSAGE_METHODS = frozenset({"sendmessage", "sendphoto", "editmessagetext"})
# Values of these parameters are plain strings even when they look like JSON, numbers or booleans.
_TEXT_KEYS = frozenset(
    {
        "text", "caption", "title", "description", "short_description", "query", "url",
        "callback_query_id", "inline_message_id", "secret_token", "ip_address", "emoji", "name",
        "photo", "document", "file_id", "language_code", "parse_mode", "business_connection_id",
    }
)  # fmt: skip
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file received in a multipart request."""

    filename: str | None
    content_type: str
    size: int
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One recorded Bot API request and the status the fake answered with."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    result: Any = None
    token: str = ""
    fault: Fault | None = None  # what the fake injected into this call

    @property
    def ok(self) -> bool:
        """Whether the fake answered with HTTP 200."""
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        """The ``chat_id`` parameter, if any."""
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """The ``text`` or ``caption`` parameter, if any."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: int
    description: str | None
    remaining: int


def _decode(key: str, raw: str) -> Any:
    """Decode one form value the way PTB encoded it (JSON for non-string values)."""
    if key in _TEXT_KEYS:
        return raw
    if raw[:1] in ("{", "[") or raw in ("true", "false", "null") or _NUMBER.fullmatch(raw):
        with contextlib.suppress(ValueError):
            return json.loads(raw)
    return raw


def _is_send(method: str) -> bool:
    return (method.startswith("send") and method != "sendchataction") or method in {
        "copymessage",
        "forwardmessage",
        "copymessages",
        "forwardmessages",
    }


def _error(status: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: fake failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeTelegramApi:
    """In-process fake Bot API server (aiohttp) that records every call."""

    def __init__(
        self, *, bot_id: int = BOT_ID, username: str = BOT_USERNAME, first_name: str = "Loyalty"
    ) -> None:
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.webhook: dict[str, Any] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.too_many_requests = 0
        self._calls: list[ApiCall] = []
        self._updates: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._message_ids: defaultdict[Any, int] = defaultdict(int)
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._blocked: set[str] = set()
        self._rate: tuple[int, int] | None = None
        self._window: deque[float] = deque()
        self._chat_windows: defaultdict[Any, deque[float]] = defaultdict(deque)
        self._cond = threading.Condition(threading.RLock())  # guards all state above
        self._changed = asyncio.Event()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._in_thread = False
        self.url = ""
        # Faults switched on at runtime for sends (`faults.set(FaultPlan(...))`).
        self.faults = FaultSwitch()

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Start listening on 127.0.0.1 on a free port and set ``url``."""
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._closing = False
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Release pending long polls and stop the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(cls, **kwargs: Any) -> Iterator[FakeTelegramApi]:
        """Run a fake in its own event loop on a background thread (e.g. for a bot subprocess)."""
        fake = cls(**kwargs)
        fake._in_thread = True
        with loop_in_thread("fake-telegram-api", timeout=10) as loop:
            asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
            try:
                yield fake
            finally:
                asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url``."""
        return f"{self.url}/file/bot"

    # ----------------------------------------------------------------- inspection
    @property
    def calls(self) -> list[ApiCall]:
        """A snapshot of every recorded call, in completion order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str | None = None) -> list[ApiCall]:
        """Successful sendMessage/sendPhoto/editMessageText calls, optionally for one chat."""
        return [
            c
            for c in self.calls
            if c.ok
            and c.method.lower() in MESSAGE_METHODS
            and (chat_id is None or str(c.chat_id) == str(chat_id))
        ]

    def send_times(self, chat_id: int | str | None = None) -> list[float]:
        """Arrival times (monotonic) of accepted sends, to compute the achieved rate."""
        return [
            c.at
            for c in self.calls
            if c.ok
            and _is_send(c.method.lower())
            and (chat_id is None or str(c.chat_id) == str(chat_id))
        ]

    def send_attempt_times(self, injected: bool = True) -> list[float]:
        """Arrival times of every send request, whatever the answer (a 429 for going over the
        limit too): what the platform's limit is about. `injected=False` leaves out the calls
        the fake failed on purpose (a 500 or a 429 of `faults`: an outage, not a send)."""
        return [
            c.at
            for c in self.calls
            if _is_send(c.method.lower())
            and (injected or c.fault not in (Fault.ERROR, Fault.RATE_LIMITED))
        ]

    def peak_sends(self, chat_id: int | str | None = None, window: float = 1.0) -> int:
        """Largest number of accepted sends inside any sliding window of ``window`` seconds."""
        times, best, lo = sorted(self.send_times(chat_id)), 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for a scope (default scope when None)."""
        with self._cond:
            return list(self.commands.get(self._scope_key(scope, language_code), []))

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on each call) and return its value."""
        if self._in_thread:
            return await asyncio.to_thread(self.wait_for_sync, predicate, timeout)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    if result := predicate():
                        return result
                    await changed.wait()
        except TimeoutError:
            raise self._timeout_error(timeout) from None

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Blocking ``wait_for`` for use from another thread than the fake's loop."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error(timeout)
                self._cond.wait(remaining)
            return result

    async def wait_for_messages(
        self, chat_id: int | str, count: int = 1, timeout: float = 5.0
    ) -> list[ApiCall]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; return them."""

        def enough() -> list[ApiCall]:
            messages = self.sent_messages(chat_id)
            return messages if len(messages) >= count else []

        return await self.wait_for(enough, timeout)

    def _timeout_error(self, timeout: float) -> AssertionError:
        lines = [f"  {c.method} [{c.status}] {c.params!r}"[:300] for c in self.calls]
        return AssertionError(
            f"condition not met within {timeout}s; {len(lines)} recorded calls:\n"
            + ("\n".join(lines) or "  (none)")
        )

    # ----------------------------------------------------------------- controls
    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (assigns ``update_id`` if missing); thread-safe."""
        with self._cond:
            if "update_id" not in update:
                update = {"update_id": self.next_update_id(), **update}
            self._updates.append(update)
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        self._notify_threadsafe()
        return int(update["update_id"])

    def next_update_id(self) -> int:
        """A fresh update id, greater than every pushed one."""
        with self._cond:
            self._last_update_id += 1
            return self._last_update_id

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed through getUpdates ``offset``."""
        with self._cond:
            return list(self._updates)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with ``status``."""
        with self._cond:
            self._failures[method.lower()].append(_Failure(status, retry_after, description, count))

    def block_chat(self, chat_id: int | str) -> None:
        """Every call addressed to ``chat_id`` now fails with 403 (bot blocked by the user)."""
        with self._cond:
            self._blocked.add(str(chat_id))

    def unblock_chat(self, chat_id: int | str) -> None:
        """Undo ``block_chat``."""
        with self._cond:
            self._blocked.discard(str(chat_id))

    def enforce_rate(self, global_per_sec: int = 30, per_chat_per_sec: int = 1) -> None:
        """Answer 429 to sends exceeding these limits over a sliding 1 s window."""
        with self._cond:
            self._rate = (global_per_sec, per_chat_per_sec)
            self._window.clear()
            self._chat_windows.clear()

    # ----------------------------------------------------------------- server side
    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._changed.set()
        self._changed = asyncio.Event()

    def _notify_threadsafe(self) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop and loop.is_running():
            loop.call_soon_threadsafe(self._notify)
        else:
            self._notify()

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            params.update(body or {})
            return params
        files: dict[str, UploadedFile] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files[key] = UploadedFile(value.filename, value.content_type, len(data), data)
            else:
                params[key] = _decode(key, str(value))
        for key, value in list(params.items()):  # resolve attach://name references
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = files.pop(value.removeprefix("attach://"), value)
        params.update(files)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        token, method = request.match_info["token"], request.match_info["method"]
        params = await self._read_params(request)
        fault = self.faults.draw() if _is_send(method.lower()) else None
        if method.lower() == "getupdates":
            status, body = await self._get_updates(params)
        elif fault is Fault.ERROR:
            status, body = _error(500, _DEFAULT_DESCRIPTIONS[500])
        elif fault is Fault.RATE_LIMITED:
            wait = self.faults.plan.retry_after
            status, body = _error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        else:
            if fault is Fault.SLOW:
                await asyncio.sleep(self.faults.plan.slow_seconds)
            with self._cond:
                status, body = self._dispatch(method.lower(), params, at)
        call = ApiCall(method, params, at, status, body.get("result"), token, fault)
        with self._cond:
            self._calls.append(call)
            if status == 429:
                self.too_many_requests += 1
        self._notify()
        if fault is Fault.TIMEOUT:  # delivered; the client gives up waiting for the answer
            await asyncio.sleep(self.faults.plan.hang_seconds)
        return web.json_response(body, status=status)

    def _dispatch(
        self, method: str, params: dict[str, Any], at: float
    ) -> tuple[int, dict[str, Any]]:
        chat = str(params.get("chat_id"))
        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                failures.pop(0)
            if failure.status == 429:
                desc = (
                    failure.description or f"Too Many Requests: retry after {failure.retry_after}"
                )
                return _error(429, desc, retry_after=failure.retry_after)
            desc = failure.description or _DEFAULT_DESCRIPTIONS.get(failure.status, "Fake failure")
            return _error(failure.status, desc)
        if "chat_id" in params and chat in self._blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if self._rate is not None and _is_send(method):
            retry_after = self._check_rate(chat, at)
            if retry_after:
                return _error(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        handler = getattr(self, f"_m_{method}", None)
        result = handler(params) if handler else True
        return 200, {"ok": True, "result": result}

    def _check_rate(self, chat: str, at: float) -> int:
        """Return a retry_after (>0) when this send exceeds the limits, else record it and 0."""
        assert self._rate is not None
        windows = ((self._window, self._rate[0]), (self._chat_windows[chat], self._rate[1]))
        for window, _ in windows:
            while window and window[0] <= at - 1.0:
                window.popleft()
        for window, limit in windows:
            if len(window) >= limit:
                return max(1, math.ceil(window[0] + 1.0 - at))
        for window, _ in windows:
            window.append(at)
        return 0

    async def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._cond:
            if self.webhook.get("url"):
                return _error(409, "Conflict: can't use getUpdates method while webhook is active")
            if offset < 0:
                del self._updates[:offset]
            elif offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        while True:
            changed = self._changed
            with self._cond:
                if self._updates or self._closing or time.monotonic() >= deadline:
                    return 200, {"ok": True, "result": self._updates[:limit]}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), deadline - time.monotonic())

    # ----------------------------------------------------------------- methods
    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, int):
            return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        return {"id": -1, "type": "channel", "username": str(chat_id).lstrip("@")}

    def _new_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        self._message_ids[str(chat_id)] += 1
        message = {
            "message_id": self._message_ids[str(chat_id)],
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            **content,
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self._messages[(str(chat_id), message["message_id"])] = message
        return message

    def _edit(self, params: dict[str, Any], **changes: Any) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        chat_id, message_id = params.get("chat_id"), int(params.get("message_id") or 0)
        key = (str(chat_id), message_id)
        message = self._messages.get(key) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
        }
        message = {**message, **changes, "edit_date": int(time.time())}
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self._messages[key] = message
        return message

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._new_message(params, text=params.get("text", ""))

    def _m_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        size = photo.size if isinstance(photo, UploadedFile) else 0
        n = len(self._calls) + 1
        sizes = [
            {
                "file_id": f"photo{n}",
                "file_unique_id": f"u{n}",
                "width": 320,
                "height": 320,
                "file_size": size,
            }
        ]
        extra = {"caption": params["caption"]} if "caption" in params else {}
        return self._new_message(params, photo=sizes, **extra)

    def _m_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        uploaded = document if isinstance(document, UploadedFile) else None
        n = len(self._calls) + 1
        file = {
            "file_id": f"doc{n}",
            "file_unique_id": f"d{n}",
            "file_name": uploaded.filename if uploaded else None,
            "mime_type": uploaded.content_type if uploaded else None,
            "file_size": uploaded.size if uploaded else 0,
        }
        extra = {"caption": params["caption"]} if "caption" in params else {}
        return self._new_message(params, document=file, **extra)

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(params, text=params.get("text", ""))

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(params)

    def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)
        return True

    def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), str(language_code or "")

    def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self.commands[key] = list(params.get("commands") or [])
        return True

    def _m_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(
            self._scope_key(params.get("scope"), params.get("language_code")), []
        )

    def _m_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._scope_key(params.get("scope"), params.get("language_code")), None)
        return True


# --------------------------------------------------------------------- update builders
def _user(
    user_id: int, first_name: str, username: str | None, language_code: str
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def make_text_update(
    update_id: int,
    user_id: int,
    text: str,
    username: str | None = None,
    language_code: str = "en",
    first_name: str = "Ann",
    message_id: int | None = None,
) -> dict[str, Any]:
    """A private-chat text message update as Telegram sends it."""
    chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
    if username:
        chat["username"] = username
    message = {
        "message_id": message_id or update_id,
        "date": int(time.time()),
        "chat": chat,
        "from": _user(user_id, first_name, username, language_code),
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def make_command_update(
    update_id: int,
    user_id: int,
    text: str,
    username: str | None = None,
    language_code: str = "en",
    first_name: str = "Ann",
    message_id: int | None = None,
) -> dict[str, Any]:
    """Like ``make_text_update`` plus the ``bot_command`` entity CommandHandler requires."""
    update = make_text_update(
        update_id, user_id, text, username, language_code, first_name, message_id
    )
    command = text.split(maxsplit=1)[0]
    length = len(command.encode("utf-16-le", "surrogatepass")) // 2
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return update


def make_callback_update(
    update_id: int,
    user_id: int,
    data: str,
    message_id: int = 1,
    username: str | None = None,
    first_name: str = "Ann",
    message_text: str = "…",
) -> dict[str, Any]:
    """A callback_query update for a button on a bot message in the user's private chat."""
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": first_name},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Loyalty", "username": BOT_USERNAME},
        "text": message_text,
    }
    query = {
        "id": f"cbq{update_id}",
        "from": _user(user_id, first_name, username, "en"),
        "message": message,
        "chat_instance": f"ci{user_id}",
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}
