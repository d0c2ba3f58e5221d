"""The web gateway: the only public process (see ../../DESIGN.md, "web gateway").

    app = create_app(settings)

serves the embeddable widget and the demo portal page, the chat socket (/chat/ws) with its HTTP
fallback (/chat/http), the privacy notice, /healthz, /readyz, /metrics, and mounts the
back-office API under /api/v1 and the helpdesk console under /helpdesk (bot/web/routes.py).

The factory makes the parts and hands them to each other here, explicitly, once: the Rasa client,
the bus (bot/web/bus.py) that carries pushes and console news to this gateway's sockets and to the
other gateways of a cluster, the live handoff (bot/handoff/live.py) that both the chat and the
console use, and the chat. What needs the running event loop (the Rasa client's HTTP session,
the bus's Redis connections, the purge) starts and stops in cleanup_ctx.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from bot import retention
from bot.core.clock import monotonic
from bot.core.logs import log_event
from bot.core.runner import run_db
from bot.handoff.live import LiveHandoff
from bot.handoff.mailer import OutboxWorker
from bot.settings import Settings
from bot.web import pages, sockets, widget_build
from bot.web.bus import Bus
from bot.web.chat.hub import ChatHub
from bot.web.chat.service import ChatService
from bot.web.keys import BUS, CHAT, HUB, LIVE, MAILER, METRICS, PROM, RASA, SETTINGS, TEMPLATES
from bot.web.metrics import GatewayMetrics
from bot.web.rasa import RasaClient
from bot.web.routes import setup_routes
from bot.web.security import nonce_middleware, security_headers

MAX_REQUEST_BYTES = 64 * 1024
# A purge of a large tracker store may take a while; it runs off the event loop.
PURGE_TIMEOUT_S = 600.0
log = logging.getLogger("bot.web.app")


def _actions_health_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.actions_port}/health"


async def _rasa_session(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the Rasa client's one HTTP session, for the app's lifetime."""
    await app[RASA].start()
    yield
    await app[RASA].close()


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
                log_event(
                    log,
                    "retention_purge",
                    conversations=report.conversations,
                    tickets=report.tickets,
                    questions=report.questions,
                    mails=report.mails,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # try again next interval
                log_event(log, "retention_purge_failed", reason=type(exc).__name__)
            await asyncio.sleep(settings.purge_interval_s)

    task = asyncio.create_task(every_interval())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _outbox(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the outbox worker sends the helpdesk's mails (only with KW_SMTP_HOST)."""
    worker = app[MAILER]
    if app[SETTINGS].mail.enabled:
        worker.start()
    yield
    await worker.stop()


async def _close_sockets(app: web.Application) -> None:
    """on_shutdown: tell open widgets to reconnect (1001 going away)."""
    await app[HUB].close_all()


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A Dutch 404 page for browsers; API and chat paths keep their own error bodies."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        wants_html = "text/html" in request.headers.get("Accept", "")
        if request.method == "GET" and wants_html and not request.path.startswith(("/api/", "/chat/")):
            return pages.render(request, "not_found.html", status=404)
        raise


def create_app(settings: Settings, clock: Callable[[], float] = monotonic) -> web.Application:
    """The gateway; ``clock``: what its caches' idle times are measured on (tests move it)."""
    # No route reads more than this; every handler also checks its own smaller limit before
    # reading (the chat frame, the console form, the API body).
    app = web.Application(middlewares=[nonce_middleware, html_errors], client_max_size=MAX_REQUEST_BYTES)
    # The served widget.js is built from its modules (bot/web/static/widget/) when missing or stale.
    widget_build.ensure_built()
    app[SETTINGS] = settings
    app[METRICS] = metrics = Counter[str]()
    app[PROM] = prom = GatewayMetrics()
    # Open WebSockets per client address and in all (KW_MAX_SOCKETS_PER_CLIENT, KW_MAX_SOCKETS).
    sockets.install(app)
    app[TEMPLATES] = pages.template_env()
    app[RASA] = rasa = RasaClient(
        settings.rasa_urls,
        settings.rasa_token,
        metrics=prom,
        actions_health_url=_actions_health_url(settings),
        max_in_flight=settings.rasa_max_in_flight,
    )
    app[HUB] = hub = ChatHub()
    # Pushes to widget sockets and ticket/queue news for consoles: here, and through Redis to the
    # other gateways (with KW_PUBSUB_URL). The console's hub subscribes (bot/web/console/routes.py).
    app[BUS] = bus = Bus(hub, settings.pubsub_url, prefix=settings.pubsub_prefix, metrics=metrics)
    # The live handoff: the chat routes messages of conversations with a helpdesk ticket to it,
    # the console drives it; it tells Rasa and the bus.
    app[LIVE] = live = LiveHandoff.from_settings(settings, rasa, bus, metrics)
    app[CHAT] = ChatService(settings, rasa, metrics, live, prom, clock=clock)
    app.cleanup_ctx.append(_pubsub)
    app.cleanup_ctx.append(_rasa_session)
    app.cleanup_ctx.append(_retention)
    # The helpdesk's mails: stored in the outbox by the console, sent by this worker, which tells
    # the consoles (through the bus) when a mail's status changed.

    async def mail_result(ticket_id: int | None, _status: str) -> None:
        if ticket_id is not None:
            await bus.ticket_changed(ticket_id)

    app[MAILER] = OutboxWorker(
        live.tickets,
        settings.mail,
        live.hours,
        db_timeout_s=live.timeout_s,
        metrics=prom,
        on_result=mail_result,
    )
    app.cleanup_ctx.append(_outbox)
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(security_headers)
    setup_routes(app, settings)
    return app


__all__ = ["create_app"]
