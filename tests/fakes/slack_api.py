"""A local fake of the Slack Web API for tests, talked to by the real slack-sdk clients.

Point the real clients at it with ``AsyncWebClient(token, base_url=fake.api_url)`` (that is
``f"{fake.url}/api/"``; keep the trailing slash, slack-sdk joins method names with ``urljoin``).

The fake answers ``GET``/``POST /api/{method}`` (query string, form-urlencoded, multipart or JSON
bodies, the token in the ``Authorization: Bearer`` header or a ``token`` field) and
``POST /response_url/{id}`` (what bolt's ``respond()`` sends). Every Web API call is recorded as an
:class:`ApiCall`; every response_url post as a :class:`ResponseUrlPost`.

Socket Mode: ``apps.connections.open`` answers ``ws://…/socket-mode/{n}``; a client connecting
there gets a ``hello``, then whatever ``push_envelope`` sends; the acks it sends back
(``{"envelope_id": …, "payload": …}``) are recorded in ``socket_acks``.

Two ways to run it:

* ``async with FakeSlackApi() as fake:`` in the test's own event loop (see ``slack_fixtures``),
  then ``await fake.wait_for(...)``;
* ``with FakeSlackApi.run_in_thread() as fake:`` in a background thread with its own loop (for an
  app running as a subprocess or in another loop), then ``fake.wait_for_sync(...)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fakes.faults import Fault, FaultSwitch
from tests.fakes.loop_thread import loop_in_thread

T = TypeVar("T")

JsonDict = dict[str, Any]

# The methods that send something to people: the ones `faults` apply to.
SENDING_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "conversations.open", "views.publish"}
)
# Parameters that slack-sdk sends as JSON strings when it uses a form body.
_JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata", "unfurls"})


@dataclass(frozen=True)
class ApiCall:
    """One recorded Web API call; ``at`` is ``time.monotonic()`` when the fake received it."""

    method: str
    params: JsonDict
    at: float
    token: str | None = None
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    fault: Fault | None = None  # what the fake injected into this call

    @property
    def ok(self) -> bool:
        """Whether the fake answered HTTP 200 with ``"ok": true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass(frozen=True)
class ResponseUrlPost:
    """One JSON body posted to ``/response_url/{id}`` (bolt's ``respond()``)."""

    id: str
    body: JsonDict
    at: float


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str
    retry_after: int | str | None
    page: str | None = None  # a non-JSON body (a proxy's error page), instead of Slack's JSON


@dataclass(frozen=True)
class FakeUser:
    """A user known to ``users.info``."""

    id: str
    name: str
    tz: str = "UTC"
    is_bot: bool = False
    real_name: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file shared through files_upload_v2 (all three steps done)."""

    id: str
    filename: str
    title: str
    channel: str | None
    initial_comment: str | None
    data: bytes


class FakeSlackApi:
    """Local aiohttp server imitating the Slack Web API and recording every call."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        team: str = "Loyalty Test",
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "loyaltybot",
        require_token: bool = True,
    ) -> None:
        """Configure the fake; nothing listens until ``start()``."""
        self.host = host
        self.team = team
        self.team_id = team_id
        self.app_id = "A1"  # as slack_signing's requests say
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.require_token = require_token

        self.calls: list[ApiCall] = []
        self.responses: list[ResponseUrlPost] = []
        self.users: dict[str, FakeUser] = {}
        self.published_views: dict[str, JsonDict] = {}
        self.messages: dict[tuple[str, str], JsonDict] = {}
        self.reactions: set[tuple[str, str, str, str]] = set()
        self.too_many_requests = 0
        self.socket_acks: list[JsonDict] = []
        self.socket_connections = 0  # WebSocket clients that ever connected
        # files_upload_v2: upload URLs handed out, the bytes posted to them, completed files.
        self.pending_uploads: dict[str, JsonDict] = {}
        self.uploaded: dict[str, bytes] = {}
        self.files: list[UploadedFile] = []
        self._file_counter = itertools.count(1)

        self._sockets: list[web.WebSocketResponse] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket_counter = itertools.count(1)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._channel_rate: int | None = None
        self._channel_posts: dict[str, deque[float]] = {}
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop_thread_id: int | None = None

        # Faults switched on at runtime for the sending methods (`faults.set(FaultPlan(...))`).
        self.faults = FaultSwitch(seed=1)

        self.add_user(bot_user_id, bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start listening on a free port of ``host``."""
        if self._runner is not None:
            raise RuntimeError("FakeSlackApi is already started")
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response_url/{id}", self._handle_response_url)
        app.router.add_get("/socket-mode/{id}", self._handle_socket)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._loop_thread_id = threading.get_ident()
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Stop listening and close open connections (WebSockets first)."""
        for socket in list(self._sockets):
            await socket.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeSlackApi:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(
        cls,
        *,
        host: str = "127.0.0.1",
        team: str = "Loyalty Test",
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "loyaltybot",
        require_token: bool = True,
        startup_timeout: float = 10.0,
    ) -> Iterator[FakeSlackApi]:
        """Run a fake in a daemon thread with its own event loop for the duration of the block."""
        fake = cls(
            host=host,
            team=team,
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            require_token=require_token,
        )
        with loop_in_thread("fake-slack-api", timeout=startup_timeout) as loop:
            asyncio.run_coroutine_threadsafe(fake.start(), loop).result(startup_timeout)
            try:
                yield fake
            finally:
                asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(startup_timeout)

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """Root URL of the running fake, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("FakeSlackApi is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The ``base_url`` for slack-sdk clients: ``f"{url}/api/"`` with the trailing slash."""
        return f"{self.url}/api/"

    def response_url(self, id: str) -> str:
        """A response_url whose posts are recorded under ``id``."""
        return f"{self.url}/response_url/{id}"

    # ------------------------------------------------------------------ configuration

    def add_user(
        self,
        user_id: str,
        name: str,
        tz: str = "UTC",
        is_bot: bool = False,
        real_name: str | None = None,
    ) -> FakeUser:
        """Register a user for ``users.info``; ``tz`` is an IANA name like ``Europe/Istanbul``."""
        ZoneInfo(tz)  # fail early on a typo
        user = FakeUser(id=user_id, name=name, tz=tz, is_bot=is_bot, real_name=real_name)
        with self._lock:
            self.users[user_id] = user
        return user

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | str | None = 1,
        count: int = 1,
        error: str | None = None,
        page: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls to ``method`` with HTTP ``status`` and ``error``
        (or, with ``page``, that text as an HTML page instead of Slack's JSON)."""
        # 429: header Retry-After (whole seconds: slack-sdk parses it with int()) and
        # {"ok": false, "error": "ratelimited"}; other statuses default to "internal_error";
        # status=200 with error="channel_not_found" imitates a plain API error.
        if error is None:
            error = "ratelimited" if status == 429 else "internal_error"
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(_Failure(status, error, retry_after, page) for _ in range(count))

    def enforce_channel_rate(self, per_sec: int | None = 1) -> None:
        """Answer 429 when chat.postMessage to one channel exceeds ``per_sec`` in any second."""
        with self._lock:
            self._channel_rate = per_sec
            self._channel_posts.clear()

    def clear(self) -> None:
        """Forget recorded calls, response_url posts and the 429 counter (not users or switches)."""
        with self._lock:
            self.calls.clear()
            self.responses.clear()
            self.too_many_requests = 0

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[ApiCall]:
        """All recorded calls to ``method`` (including failed ones), oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posted_messages(self, channel: str | None = None) -> list[JsonDict]:
        """Params of successful chat.postMessage calls, to ``channel`` (as sent or resolved)."""
        # A user id U1 as channel resolves to the DM D+U1; rate-limited or failed calls are left
        # out (see calls_to for those).
        with self._lock:
            result = []
            for c in self.calls:
                if c.method != "chat.postMessage" or not c.ok:
                    continue
                if channel is None or channel in (c.params.get("channel"), c.response["channel"]):
                    result.append(c.params)
            return result

    def responses_to(self, id: str | None = None) -> list[JsonDict]:
        """Bodies posted to response URLs, optionally to the one built with ``id`` only."""
        with self._lock:
            return [r.body for r in self.responses if id is None or r.id == id]

    def describe_calls(self) -> str:
        """A readable listing of every recorded call, for assertion messages."""
        with self._lock:
            lines = [
                f"  {c.at:.3f} {c.method} -> {c.status} {c.response.get('error', 'ok')}: "
                f"{_short(c.params)}"
                for c in self.calls
            ]
            lines += [f"  {r.at:.3f} response_url/{r.id}: {_short(r.body)}" for r in self.responses]
        return "\n".join(lines) if lines else "  (no calls)"

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every call) and return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._lock:
                result = predicate()
                if result:
                    return result
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait_for(future, remaining)
            except TimeoutError:
                with self._lock:
                    result = predicate()
                    if result:
                        return result
                raise AssertionError(
                    f"condition not met within {timeout}s; recorded calls:\n{self.describe_calls()}"
                ) from None
            finally:
                with self._lock, contextlib.suppress(ValueError):
                    self._waiters.remove((loop, future))

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Blocking ``wait_for`` for a fake running in another thread (``run_in_thread``)."""
        if self._loop_thread_id == threading.get_ident():
            raise RuntimeError(
                "wait_for_sync would block the fake's own event loop; use 'await fake.wait_for'"
            )
        with self._cond:
            result: T | None = None

            def check() -> bool:
                nonlocal result
                result = predicate()
                return bool(result)

            if not self._cond.wait_for(check, timeout):
                raise AssertionError(
                    f"condition not met within {timeout}s; recorded calls:\n{self.describe_calls()}"
                )
            return result  # type: ignore[return-value]

    async def wait_for_call(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[ApiCall]:
        """Wait until at least ``count`` calls to ``method`` are recorded and return them."""
        return await self.wait_for(lambda: _at_least(self.calls_to(method), count), timeout)

    def wait_for_call_sync(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[ApiCall]:
        """Blocking ``wait_for_call`` for a fake running in another thread."""
        return self.wait_for_sync(lambda: _at_least(self.calls_to(method), count), timeout)

    def _notify(self) -> None:
        """Wake every waiter; must be called with the lock held."""
        self._cond.notify_all()
        waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # the waiter's loop is already closed
                loop.call_soon_threadsafe(_resolve, future)

    # ------------------------------------------------------------------ Socket Mode

    async def push_envelope(
        self,
        type: str,
        payload: JsonDict,
        envelope_id: str | None = None,
        accepts_response_payload: bool = True,
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope (``slash_commands``, ``events_api``, ``interactive``) to the newest
        connected Socket Mode client, waiting for one to connect; returns its envelope id."""
        await self.wait_for(lambda: self._sockets, timeout)
        envelope_id = envelope_id or f"env-{next(self._socket_counter)}"
        envelope: JsonDict = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    def push_envelope_sync(self, type: str, payload: JsonDict, **options: Any) -> str:
        """Blocking ``push_envelope`` for a fake running in another thread."""
        if self._loop is None:
            raise RuntimeError("FakeSlackApi is not started")
        pushed = asyncio.run_coroutine_threadsafe(self.push_envelope(type, payload, **options),
                                                  self._loop)  # fmt: skip
        return pushed.result(float(options.get("timeout", 5.0)) + 1.0)

    def acks_for(self, envelope_id: str) -> list[JsonDict]:
        """The acks a Socket Mode client sent for ``envelope_id``."""
        with self._lock:
            return [a for a in self.socket_acks if a.get("envelope_id") == envelope_id]

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        with self._lock:
            self._sockets.append(socket)
            self.socket_connections += 1
            self._notify()
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
            "connection_info": {"app_id": "A1"},
        }
        try:
            await socket.send_json(hello)
            async for message in socket:
                if message.type != web.WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    ack = json.loads(message.data)
                    if isinstance(ack, dict) and "envelope_id" in ack:
                        with self._lock:
                            self.socket_acks.append(ack)
                            self._notify()
        finally:
            with self._lock:
                with contextlib.suppress(ValueError):
                    self._sockets.remove(socket)
                self._notify()
        return socket

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        token = _bearer_token(request.headers.get("Authorization"))
        body_token = params.pop("token", None)
        if token is None and isinstance(body_token, str):
            token = body_token
        now = time.monotonic()
        headers: dict[str, str] = {}
        fault = self.faults.draw() if method in SENDING_METHODS else None
        if fault is Fault.SLOW:
            await asyncio.sleep(self.faults.plan.slow_seconds)
        with self._lock:
            status = 200
            injected = fault in (Fault.ERROR, Fault.RATE_LIMITED)
            failure = None if injected else self._pop_failure(method)
            if fault is Fault.ERROR:
                status = 500
                response: JsonDict = {"ok": False, "error": "internal_error"}
            elif fault is Fault.RATE_LIMITED:
                status, response = 429, {"ok": False, "error": "ratelimited"}
                headers["Retry-After"] = str(self.faults.plan.retry_after)
            elif failure is not None:
                status = failure.status
                response = {"ok": False, "error": failure.error}
                if failure.retry_after is not None and status == 429:
                    headers["Retry-After"] = str(failure.retry_after)
            elif self.require_token and not token:
                response = {"ok": False, "error": "not_authed"}
            else:
                retry_after = self._channel_rate_exceeded(method, params, now)
                if retry_after is not None:
                    status = 429
                    response = {"ok": False, "error": "ratelimited"}
                    headers["Retry-After"] = str(retry_after)
                else:
                    response = self._dispatch(method, params)
                    if method == "chat.postMessage" and response.get("ok"):
                        self._note_channel_post(str(params.get("channel")), now)
            if status == 429:
                self.too_many_requests += 1
            self.calls.append(ApiCall(method, params, now, token, status, response, fault))
            self._notify()
        if fault is Fault.TIMEOUT:  # delivered; the client gives up waiting for the answer
            await asyncio.sleep(self.faults.plan.hang_seconds)
        if failure is not None and failure.page is not None:
            return web.Response(
                text=failure.page, status=status, headers=headers, content_type="text/html"
            )
        return web.json_response(response, status=status, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """Step 2 of files_upload_v2: the file's bytes, posted to the URL step 1 gave."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        with self._lock:
            expected = self.pending_uploads.get(file_id)
            if expected is None:
                return web.Response(text="unknown upload", status=404)
            if int(expected.get("length", -1)) != len(data):
                return web.Response(text="length mismatch", status=400)
            self.uploaded[file_id] = data
            self._notify()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {"_json": body}
        with self._lock:
            self.responses.append(ResponseUrlPost(request.match_info["id"], body, time.monotonic()))
            self._notify()
        return web.Response(text="ok", content_type="text/plain")

    # ------------------------------------------------------------------ failure switches

    def _pop_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        return queue.popleft()

    def _channel_rate_exceeded(self, method: str, params: JsonDict, now: float) -> int | None:
        if method != "chat.postMessage" or self._channel_rate is None:
            return None
        posts = self._channel_posts.get(str(params.get("channel")))
        if posts is None:
            return None
        while posts and now - posts[0] >= 1.0:
            posts.popleft()
        if len(posts) < self._channel_rate:
            return None
        return max(1, math.ceil(posts[0] + 1.0 - now))

    def _note_channel_post(self, channel: str, now: float) -> None:
        if self._channel_rate is not None:
            self._channel_posts.setdefault(channel, deque()).append(now)

    # ------------------------------------------------------------------ methods

    def _dispatch(self, method: str, params: JsonDict) -> JsonDict:
        handler = self._methods().get(method)
        if handler is None:
            return {"ok": True}
        return handler(params)

    def _methods(self) -> dict[str, Callable[[JsonDict], JsonDict]]:
        return {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    def _files_get_upload_url(self, params: JsonDict) -> JsonDict:
        """Step 1 of files_upload_v2: an upload URL on this fake for a file of `length`."""
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_counter):05d}"
        self.pending_uploads[file_id] = {"filename": params["filename"], "length": params["length"]}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _files_complete_upload(self, params: JsonDict) -> JsonDict:
        """Step 3: the uploaded files are shared in `channel_id` (with an initial comment)."""
        entries = params.get("files")
        if isinstance(entries, str):
            entries = json.loads(entries)
        if not isinstance(entries, list) or not entries:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for entry in entries:
            file_id = str(entry.get("id"))
            if file_id not in self.uploaded:
                return {"ok": False, "error": "file_not_found"}
            upload = self.pending_uploads[file_id]
            channel = params.get("channel_id")
            self.files.append(
                UploadedFile(
                    id=file_id,
                    filename=str(upload["filename"]),
                    title=str(entry.get("title") or upload["filename"]),
                    channel=str(channel) if channel else None,
                    initial_comment=params.get("initial_comment"),
                    data=self.uploaded[file_id],
                )
            )
            shared.append({"id": file_id, "name": upload["filename"], "title": entry.get("title")})
        return {"ok": True, "files": shared}

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + next(self._ts_counter) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve_channel(self, channel: str) -> str:
        if channel[:1] in ("U", "W"):
            return "D" + channel
        return channel

    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self.team.lower().replace(' ', '-')}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: JsonDict) -> JsonDict:
        url = self.url.replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{url}/socket-mode/{next(self._socket_counter)}"}

    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            return {"ok": False, "error": "no_text"}
        channel = self._resolve_channel(str(channel))
        ts = self._next_ts()
        message: JsonDict = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": params.get("text", ""),
            "ts": ts,
            "team": self.team_id,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in params:
                message[key] = params[key]
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, params: JsonDict) -> JsonDict:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": message,
        }

    def _views_publish(self, params: JsonDict) -> JsonDict:
        user_id = params.get("user_id")
        view = params.get("view")
        if not user_id or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        self.published_views[str(user_id)] = view
        view_id = f"VFAKE{next(self._view_counter):06d}"
        return {
            "ok": True,
            "view": {**view, "id": view_id, "team_id": self.team_id, "hash": f"{view_id}.hash"},
        }

    def _users_info(self, params: JsonDict) -> JsonDict:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        zone = ZoneInfo(user.tz)
        offset = datetime.now(zone).utcoffset()
        real_name = user.real_name or user.name
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "real_name": real_name,
                "deleted": False,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "tz": user.tz,
                "tz_label": user.tz,
                "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
                "profile": {"real_name": real_name, "display_name": user.name},
            },
        }

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        channel = params.get("channel")
        if channel:
            return {"ok": True, "channel": {"id": str(channel)}}
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))
        return {"ok": True, "no_op": False, "channel": {"id": channel_id}}

    def _reactions_add(self, params: JsonDict) -> JsonDict:
        key = (
            str(params.get("channel", "")),
            str(params.get("timestamp", "")),
            str(params.get("name", "")),
            self.bot_user_id,
        )
        if not all(key[:3]):
            return {"ok": False, "error": "invalid_arguments"}
        if key in self.reactions:
            return {"ok": False, "error": "already_reacted"}
        self.reactions.add(key)
        return {"ok": True}


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _at_least(calls: list[ApiCall], count: int) -> list[ApiCall]:
    return calls if len(calls) >= count else []


def _short(value: object, limit: int = 300) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bearer_token(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


async def _read_params(request: web.Request) -> JsonDict:
    """Merge query string and body (JSON, form or multipart) into one dict."""
    params: JsonDict = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.read()
            if raw:
                body = json.loads(raw)
                if isinstance(body, dict):
                    params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else getattr(value, "filename", "")
    for key in _JSON_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params
