"""The web gateway: the only public process (see ../../DESIGN.md, "web gateway").

    app = create_app(settings)

serves the embeddable widget and the demo portal page, the chat socket (/chat/ws) with its HTTP
fallback (/chat/http), the privacy notice, /healthz, /readyz, /metrics, and mounts the
back-office API under /api/v1 and the helpdesk console under /helpdesk (bot/web/routes.py).

The factory makes the parts and hands them to each other here, explicitly: the Rasa client, the
chat, the live handoff (bot/handoff/live.py) that both the chat and the console use, and the bus
(bot/web/bus.py) that carries its pushes and changes to the other gateways of a cluster.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any, AsyncIterator

import aiohttp
from aiohttp import web

from bot import retention
from bot.core.runner import run_db
from bot.handoff.live import LiveHandoff
from bot.web import pages, sockets, widget_build
from bot.web.bus import Bus
from bot.web.chat import ChatHub, ChatService
from bot.web.keys import (BUS, CHAT, CONSOLE_HUB, CONSOLE_LOGIN_LIMITER, HTTP, HUB, LIVE, METRICS, RASA,
                          SETTINGS, TEMPLATES)
from bot.web.metrics import PROM, GatewayMetrics
from bot.web.rasa import RasaClient
from bot.web.routes import setup_routes
from bot.web.security import nonce_middleware, security_headers


MAX_REQUEST_BYTES = 64 * 1024
# A purge of a large tracker store may take a while; it runs off the event loop.
PURGE_TIMEOUT_S = 600.0
log = logging.getLogger("bot.web.app")


def _actions_health_url(settings: Any) -> str:
    return f"http://{settings.host}:{settings.actions_port}/health"


async def _rasa_session(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: one ClientSession to Rasa for the app's lifetime, the one Rasa client on
    it, and what needs that client: the chat and the live handoff."""
    settings = app[SETTINGS]
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=100)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as http:
        app[HTTP] = http
        app[RASA] = RasaClient(http, settings.rasa_urls, settings.rasa_token,
                               actions_health_url=_actions_health_url(settings),
                               max_in_flight=settings.rasa_max_in_flight, metrics=app[PROM])
        # Pushes go through the bus: to this gateway's sockets and, in a cluster, the others'.
        app[LIVE].connect(app[RASA], app[BUS].push)
        app[CHAT] = ChatService(settings, app[RASA], app[METRICS], app[LIVE], prom=app[PROM])
        yield


async def _pubsub(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the bus's Redis publisher and subscriber (only with KW_PUBSUB_URL)."""
    await app[BUS].start()
    yield
    await app[BUS].stop()


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the AVG purge runs inside the running stack, at start and then every
    KW_PURGE_INTERVAL_S (a day), not only when the stack is started."""
    settings = app[SETTINGS]

    async def every_interval() -> None:
        while True:
            try:
                report = await run_db(lambda: retention.purge(settings), PURGE_TIMEOUT_S)
                log.info(json.dumps({"event": "retention_purge", "conversations": report.conversations,
                                     "tickets": report.tickets, "questions": report.questions}))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - try again next interval
                log.warning(json.dumps({"event": "retention_purge_failed", "reason": type(exc).__name__}))
            await asyncio.sleep(settings.purge_interval_s)

    task = asyncio.create_task(every_interval())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_sockets(app: web.Application) -> None:
    """on_shutdown: tell open widgets to reconnect (1001 going away)."""
    await app[HUB].close_all()


@web.middleware
async def html_errors(request: web.Request, handler):
    """A Dutch 404 page for browsers; API and chat paths keep their own error bodies."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        wants_html = "text/html" in request.headers.get("Accept", "")
        if request.method == "GET" and wants_html and not request.path.startswith(("/api/", "/chat/")):
            return pages.render(request, "not_found.html", status=404)
        raise


def create_app(settings: Any) -> web.Application:
    # No route reads more than this; every handler also checks its own smaller limit before
    # reading (the chat frame, the console form, the API body).
    app = web.Application(middlewares=[nonce_middleware, html_errors], client_max_size=MAX_REQUEST_BYTES)
    # The served widget.js is built from its modules (bot/web/static/widget/) when missing or stale.
    widget_build.ensure_built()
    app[SETTINGS] = settings
    app[METRICS] = Counter()
    app[PROM] = GatewayMetrics()
    # Open WebSockets per client address and in all (KW_MAX_SOCKETS_PER_CLIENT, KW_MAX_SOCKETS).
    sockets.install(app)
    app[HUB] = ChatHub()
    app[TEMPLATES] = pages.template_env()
    # The live handoff: the chat routes messages of conversations with a helpdesk ticket to
    # it, the console drives it and listens to it. Made here, handed to both.
    app[LIVE] = LiveHandoff.from_settings(settings, app[METRICS])
    # Changes made here go to the other gateways through the bus (a listener like the console
    # hub); what they publish reaches the live handoff's other listeners here.
    app[BUS] = Bus(app[HUB], settings.pubsub_url, prefix=settings.pubsub_prefix,
                   metrics=app[METRICS], listeners=app[LIVE].listeners)
    app[LIVE].listeners.append(app[BUS])
    app.cleanup_ctx.append(_pubsub)
    app.cleanup_ctx.append(_rasa_session)
    app.cleanup_ctx.append(_retention)
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(security_headers)
    setup_routes(app, settings)
    _measure_console(app)
    return app


def _measure_console(app: web.Application) -> None:
    """The console sub-app's login limiter and open sockets, for /metrics."""
    for resource in app.router.resources():
        sub = resource.get_info().get("app")
        if isinstance(sub, web.Application) and CONSOLE_LOGIN_LIMITER in sub:
            sub[CONSOLE_LOGIN_LIMITER].on_refused = app[PROM].refusal("login")
            app[PROM].console_hub = sub.get(CONSOLE_HUB)


__all__ = ["create_app"]
