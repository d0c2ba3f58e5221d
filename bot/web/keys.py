"""Typed keys for what the gateway keeps on the aiohttp Application and Request.

The app factory (bot/web/app.py) makes each of these once; handlers read them with their real
type. The console sub-app's own keys are in bot/web/console/keys.py. No module imported here
may import this one (security.py, sockets.py and the handlers do; the classes below do not)."""

from __future__ import annotations

from collections import Counter

import jinja2
from aiohttp import web

from bot.handoff.live import LiveHandoff
from bot.handoff.mailer import OutboxWorker
from bot.settings import Settings
from bot.web.bus import Bus
from bot.web.chat.hub import ChatHub
from bot.web.chat.service import ChatService
from bot.web.metrics import GatewayMetrics
from bot.web.rasa import RasaClient

SETTINGS = web.AppKey("kw.settings", Settings)
#: Plain counters by name, for /metrics' own lines and the tests (bot/web/pages.py).
METRICS = web.AppKey("kw.metrics", Counter[str])
#: The Prometheus metrics (bot/web/metrics.py).
PROM = web.AppKey("kw.prom", GatewayMetrics)
RASA = web.AppKey("kw.rasa", RasaClient)
CHAT = web.AppKey("kw.chat", ChatService)
#: Open widget sockets per conversation.
HUB = web.AppKey("kw.hub", ChatHub)
#: Pushes and console news to every gateway.
BUS = web.AppKey("kw.bus", Bus)
TEMPLATES = web.AppKey("kw.templates", jinja2.Environment)
LIVE = web.AppKey("kw.live", LiveHandoff)
#: The outbox worker: sends the helpdesk's mails (bot/handoff/mailer.py); runs with KW_SMTP_HOST.
MAILER = web.AppKey("kw.mailer", OutboxWorker)

# Request keys.
CSP_NONCE = web.RequestKey("kw.csp_nonce", str)

__all__ = ["BUS", "CHAT", "CSP_NONCE", "HUB", "LIVE", "MAILER", "METRICS", "PROM", "RASA", "SETTINGS", "TEMPLATES"]
