"""`loyalty run` with chat platforms: every adapter, the HTTP server and background work
in one asyncio loop.

Each platform adapter is a Component: it may add HTTP routes, start background tasks and
register an outbox sender for its platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import Iterator
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services
from bot.http_limits import BodyLimit
from bot.shutdown import Shutdown

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A part of the bot could not start; the message says which and why, in one line."""


class Component(Protocol):
    """A part of the running bot with its own lifecycle (an adapter, a dispatcher)."""

    def routes(self) -> list[BaseRoute]:
        """HTTP routes this component serves on the shared server."""
        ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process is up and serving HTTP."""
    return JSONResponse({"status": "ok"})


def http_app(components: list[Component]) -> Starlette:
    """The shared HTTP application: health plus every component's routes."""
    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    for component in components:
        routes.extend(component.routes())
    return Starlette(routes=routes, middleware=[Middleware(BodyLimit)])


async def serve(services: Services, components: list[Component]) -> None:
    """Start everything, serve until SIGINT/SIGTERM, then stop in reverse order."""
    settings = services.settings
    await serve_http(components, settings.http_host, settings.http_port)


async def serve_http(components: list[Component], host: str, port: int) -> None:
    """Start the components and the HTTP server on `host:port`, serve until SIGINT/SIGTERM,
    then stop the components in reverse order (requests in progress are waited for; work
    that hangs is cut short by `bot.shutdown`'s watchdog).

    StartupError when the port cannot be had or a component cannot start (nothing is left
    running then).
    """
    listener = listen(host, port)  # first: a port in use must not leave a webhook registered
    config = uvicorn.Config(
        http_app(components),
        log_level="warning",
        lifespan="off",
    )
    server = _Server(config)
    shutdown = Shutdown()
    shutdown.install(asyncio.get_running_loop())
    started: list[Component] = []
    try:
        for component in components:
            await _start(component)
            started.append(component)
        settle_heap()
        server_task = asyncio.create_task(server.serve(sockets=[listener]))
        await shutdown.stop.wait()
        server.should_exit = True
        await server_task
    finally:
        listener.close()
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %s failed", type(component).__name__)


def settle_heap() -> None:
    """Move what start-up built (modules, the program, catalogs, clients: about 170,000
    objects, all living as long as the process) out of the garbage collector's sight. Every
    full collection walked them all with the event loop stopped (165-200 ms each, measured on
    the loaded 2-core benchmark machine): the slowest replies' latency. Garbage made later is
    collected as before."""
    gc.collect()
    gc.freeze()


class _Server(uvicorn.Server):
    """uvicorn, leaving signals to `bot.shutdown` (uvicorn's own handling would re-raise the
    signal after its shutdown, which would read as a second one)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals are handled by `Shutdown`."""
        yield


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port`; StartupError when the address cannot be had.

    Made with the protocol getaddrinfo gives (TCP), as asyncio's own servers are: asyncio
    switches Nagle off only on TCP sockets it recognises, and with Nagle on every answer
    waited ~40 ms for a delayed ACK.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        listener = socket.socket(family, kind, proto)
    except OSError as error:
        raise StartupError(
            f"cannot listen on {host}:{port} (HTTP_HOST/HTTP_PORT): {error}"
        ) from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as error:
        listener.close()
        reason = error.strerror or str(error)
        raise StartupError(
            f"cannot listen on {host}:{port} (HTTP_HOST/HTTP_PORT): {reason}"
        ) from None
    return listener


async def _start(component: Component) -> None:
    name = getattr(component, "label", type(component).__name__)
    try:
        await component.start()
    except StartupError:
        raise
    except Exception as error:
        log.debug("%s could not start", name, exc_info=True)
        try:  # release what it opened before it failed
            await component.stop()
        except Exception:
            log.debug("stopping %s after a failed start failed too", name, exc_info=True)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StartupError(f"{name} could not start: {reason}") from None
