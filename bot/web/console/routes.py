"""Every route of the helpdesk console, in one table, and the console as a sub-app.

The gateway mounts it under /helpdesk (bot/web/routes.py); paths here are relative to that.
Pages are server-rendered and work without JavaScript; console.js adds live updates over the
console WebSocket and sends replies without a page load (docs/console.md).
"""
from __future__ import annotations

from typing import Any, AsyncIterator

from aiohttp import web

from bot.handoff.live import LiveHandoff
from bot.web.console import admin, auth, socket, tickets
from bot.web.console.hub import ConsoleHub
from bot.web.keys import CONSOLE_COOKIES, CONSOLE_HUB, CONSOLE_LOGIN_LIMITER
from bot.web.ratelimit import RateLimiter
from bot.web.staffauth import SessionCookies

PREFIX = "/helpdesk"
# Login attempts per client address per minute (on top of the per-account lockout).
# Proposed setting KW_HELPDESK_LOGIN_RATE_PER_MINUTE.
LOGIN_RATE_PER_MINUTE = 20
# Seconds between polls of the database for changes made by other processes (only while a
# console is open). Proposed setting KW_HELPDESK_POLL_S.
POLL_S = 2.0

#: (method, path under /helpdesk, handler, name). Beheerder-only handlers say so themselves.
ROUTES = (
    ("GET", "", auth.index, "helpdesk"),
    ("GET", "/", auth.index, None),
    ("GET", "/inloggen", auth.login_get, "helpdesk_login"),
    ("POST", "/inloggen", auth.login_post, None),
    ("POST", "/uitloggen", auth.logout_post, "helpdesk_logout"),
    # The work: queue, ticket, and what staff do with a ticket
    ("GET", "/wachtrij", tickets.queue_page, "helpdesk_queue"),
    ("GET", "/vraag/{id}", tickets.ticket_page, "helpdesk_ticket"),
    ("POST", "/vraag/{id}/{actie:oppakken|terug|afronden}", tickets.transition_post, None),
    ("POST", "/vraag/{id}/bericht", tickets.reply_post, None),
    ("POST", "/vraag/{id}/notitie", tickets.note_post, None),
    ("POST", "/vraag/{id}/contact", tickets.contact_post, None),
    # Beheer
    ("GET", "/standaardantwoorden", admin.canned_page, "helpdesk_canned"),
    ("POST", "/standaardantwoorden", admin.canned_post, None),
    ("POST", "/standaardantwoorden/{rid}/verwijderen", admin.canned_delete, None),
    ("GET", "/medewerkers", admin.staff_list, "helpdesk_staff"),
    ("POST", "/medewerkers", admin.staff_create, None),
    ("POST", "/medewerkers/{naam}/ontgrendelen", admin.staff_unlock, None),
    ("POST", "/medewerkers/{naam}/rol", admin.staff_role, None),
    # Live updates, and the same data as JSON
    ("GET", "/ws", socket.console_ws, "helpdesk_ws"),
    ("GET", "/api/wachtrij", tickets.queue_api, None),
    ("GET", "/api/vraag/{id}", tickets.ticket_api, None),
)


def create_console_app(settings: Any, live: LiveHandoff) -> web.Application:
    """The console, for ``app.add_subapp(PREFIX, …)``; ``live`` is the gateway's live handoff
    (the console's hub listens to it)."""
    app = web.Application()
    app[CONSOLE_COOKIES] = SessionCookies(settings.cookie_secret, settings.staff_idle_timeout_s,
                                          settings.staff_absolute_timeout_s)
    app[CONSOLE_LOGIN_LIMITER] = RateLimiter(LOGIN_RATE_PER_MINUTE)
    hub = ConsoleHub(live, POLL_S)
    app[CONSOLE_HUB] = hub
    live.listeners.append(hub)
    for method, path, handler, name in ROUTES:
        app.router.add_route(method, path, handler, name=name)

    async def poller(_app: web.Application) -> AsyncIterator[None]:
        hub.start()
        yield
        await hub.stop()

    async def close_sockets(_app: web.Application) -> None:
        await hub.close_all()

    app.cleanup_ctx.append(poller)
    app.on_shutdown.append(close_sockets)
    return app
