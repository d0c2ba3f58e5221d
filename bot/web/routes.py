"""Every route of the gateway, in one place: its own routes here, and the two sub-apps it mounts,
each with its own table (the console: bot/web/console/routes.py; the back-office API:
bot/web/api.py)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.settings import Settings
from bot.web import pages
from bot.web.chat.http import chat_http, chat_http_options
from bot.web.chat.ws import chat_ws
from bot.web.keys import BUS, LIVE, PROM, TEMPLATES

STATIC_DIR = Path(__file__).with_name("static")


def setup_routes(app: web.Application, settings: Settings) -> None:
    r = app.router
    # Pages
    r.add_get("/", pages.demo_page, name="demo")
    r.add_get("/portaal", pages.demo_portal_page, name="demo_portal")
    r.add_get("/privacy", pages.privacy_page, name="privacy")
    # Chat: WebSocket, and the plain HTTP fallback speaking the same frames
    r.add_get("/chat/ws", chat_ws, name="chat_ws")
    r.add_post("/chat/http", chat_http, name="chat_http")
    r.add_route("OPTIONS", "/chat/http", chat_http_options)
    # Operations
    r.add_get("/healthz", pages.healthz, name="healthz")
    r.add_get("/readyz", pages.readyz, name="readyz")
    r.add_get("/metrics", pages.metrics, name="metrics")
    # Widget script, stylesheet and demo assets
    r.add_static("/static/", STATIC_DIR, name="static", show_index=False, follow_symlinks=False)
    # Sub-apps, imported here so that the chat does not load the status store or the console
    from bot.web.api import create_api_app
    from bot.web.console import PREFIX, create_console_app

    app.add_subapp("/api/v1", create_api_app(settings))
    app.add_subapp(PREFIX, create_console_app(settings, app[LIVE], app[BUS], app[TEMPLATES], app[PROM]))
