"""Typed keys of the console sub-app (made in bot/web/console/routes.py). The gateway's own keys
(settings, the live handoff, …) are in bot/web/keys.py and reach the console's handlers through
``request.config_dict``."""

from __future__ import annotations

from aiohttp import web

from bot.web.console.hub import ConsoleHub
from bot.web.ratelimit import RateLimiter
from bot.web.staffauth import SessionCookies

CONSOLE_COOKIES = web.AppKey("kw.console_cookies", SessionCookies)
CONSOLE_LOGIN_LIMITER = web.AppKey("kw.console_login_limiter", RateLimiter)
#: Open console sockets and what they are told.
CONSOLE_HUB = web.AppKey("kw.console_hub", ConsoleHub)

__all__ = ["CONSOLE_COOKIES", "CONSOLE_HUB", "CONSOLE_LOGIN_LIMITER"]
