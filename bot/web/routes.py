"""Every route of the gateway, in one place."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.web import chat, pages

STATIC_DIR = Path(__file__).with_name("static")


def setup_routes(app: web.Application) -> None:
    r = app.router
    # Pages
    r.add_get("/", pages.demo_page, name="demo")
    r.add_get("/portaal", pages.demo_portal_page, name="demo_portal")
    r.add_get("/privacy", pages.privacy_page, name="privacy")
    # Chat: WebSocket, and the plain HTTP fallback speaking the same frames
    r.add_get("/chat/ws", chat.chat_ws, name="chat_ws")
    r.add_post("/chat/http", chat.chat_http, name="chat_http")
    r.add_route("OPTIONS", "/chat/http", chat.chat_http_options)
    # Operations
    r.add_get("/healthz", pages.healthz, name="healthz")
    r.add_get("/readyz", pages.readyz, name="readyz")
    r.add_get("/metrics", pages.metrics, name="metrics")
    # Widget script, stylesheet and demo assets
    r.add_static("/static/", STATIC_DIR, name="static", show_index=False, follow_symlinks=False)
