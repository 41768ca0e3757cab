"""`loyalty run` with chat platforms: every adapter, the HTTP server and background work
in one asyncio loop.

Each platform adapter is a Component: it may add HTTP routes, start background tasks and
register an outbox sender for its platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.bootstrap import Services

log = logging.getLogger(__name__)


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
    return Starlette(routes=routes)


async def serve(services: Services, components: list[Component]) -> None:
    """Start everything, serve until SIGINT/SIGTERM, then stop in reverse order."""
    settings = services.settings
    await serve_http(components, settings.http_host, settings.http_port)


async def serve_http(components: list[Component], host: str, port: int) -> None:
    """Start the components and the HTTP server on `host:port`, serve until SIGINT/SIGTERM,
    then stop the components in reverse order."""
    config = uvicorn.Config(
        http_app(components),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
        server_task = asyncio.create_task(server.serve())
        await stop.wait()
        server.should_exit = True
        await server_task
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %s failed", type(component).__name__)
