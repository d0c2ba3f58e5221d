"""Typed keys for what the gateway keeps on the aiohttp Application and Request."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:  # pragma: no cover
    pass

SETTINGS = web.AppKey("kw.settings", object)
HTTP = web.AppKey("kw.http", aiohttp.ClientSession)
RASA = web.AppKey("kw.rasa", object)  # RasaClient
CHAT = web.AppKey("kw.chat", object)  # ChatService
HUB = web.AppKey("kw.hub", object)  # ChatHub: open sockets per conversation
BUS = web.AppKey("kw.bus", object)  # bot.web.bus.Bus: pushes and console news to every gateway
METRICS = web.AppKey("kw.metrics", Counter)
TEMPLATES = web.AppKey("kw.templates", object)  # jinja2.Environment
LIVE = web.AppKey("kw.live", object)  # bot.handoff.live.LiveHandoff: made by the app factory
# The console sub-app's own keys (bot/web/console/routes.py)
CONSOLE_COOKIES = web.AppKey("kw.console_cookies", object)  # SessionCookies
CONSOLE_LOGIN_LIMITER = web.AppKey("kw.console_login_limiter", object)  # RateLimiter
CONSOLE_HUB = web.AppKey("kw.console_hub", object)  # ConsoleHub

# Request keys.
CSP_NONCE = web.RequestKey("kw.csp_nonce", str)

__all__ = ["SETTINGS", "HTTP", "RASA", "CHAT", "HUB", "BUS", "METRICS", "TEMPLATES", "LIVE", "CONSOLE_COOKIES",
           "CONSOLE_LOGIN_LIMITER", "CONSOLE_HUB", "CSP_NONCE", "Any"]
