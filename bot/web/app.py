"""The web gateway: the only public process (see ../../DESIGN.md, "web gateway").

    app = create_app(settings)

serves the embeddable widget and the demo portal page, the chat socket (/chat/ws) with its HTTP
fallback (/chat/http), the privacy notice, /healthz, /readyz, /metrics, and mounts the
back-office API under /api/v1.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, AsyncIterator

import aiohttp
from aiohttp import web

from bot.web import pages
from bot.web.chat import ChatHub, ChatService
from bot.web.keys import CHAT, HTTP, HUB, METRICS, RASA, SETTINGS, TEMPLATES
from bot.web.rasa import RasaClient
from bot.web.routes import setup_routes
from bot.web.security import nonce_middleware, security_headers


def _actions_health_url(settings: Any) -> str:
    return f"http://{settings.host}:{settings.actions_port}/health"


async def _rasa_session(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: one ClientSession to Rasa for the app's lifetime."""
    settings = app[SETTINGS]
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=100)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as http:
        app[HTTP] = http
        app[RASA] = RasaClient(http, settings.rasa_url, settings.rasa_token,
                               actions_health_url=_actions_health_url(settings))
        app[CHAT] = ChatService(settings, app[RASA], app[METRICS])
        yield


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
    app = web.Application(middlewares=[nonce_middleware, html_errors])
    app[SETTINGS] = settings
    app[METRICS] = Counter()
    app[HUB] = ChatHub()
    app[TEMPLATES] = pages.template_env()
    setup_routes(app)
    app.cleanup_ctx.append(_rasa_session)
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(security_headers)
    _mount_api(app, settings)
    _mount_console(app)
    return app


def _mount_api(app: web.Application, settings: Any) -> None:
    """The back-office API (bot/web/api.py) under /api/v1; imported here so that the chat does
    not import the status store at module load."""
    from bot.web.api import create_api_app

    app.add_subapp("/api/v1", create_api_app(settings))


def _mount_console(app: web.Application) -> None:
    """The helpdesk console under /helpdesk and the live handoff routing (bot/web/console.py,
    bot/web/handoff.py); set up after the Rasa session so the router can use it."""
    from bot.web.console import setup_console

    setup_console(app)


__all__ = ["create_app"]
