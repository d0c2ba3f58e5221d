"""Every route of the helpdesk console, in one table, and the console as a sub-app.

The gateway mounts it under /helpdesk (bot/web/routes.py); paths here are relative to that.
Pages are server-rendered and work without JavaScript; console.js adds live updates over the
console WebSocket (server-rendered fragments of the same pages) and sends replies without a page
load (docs/console.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.handoff.live import LiveHandoff
from bot.settings import Settings
from bot.web.bus import Bus
from bot.web.console import admin, auth, editors, mail, socket, tickets
from bot.web.console.fragments import Fragments
from bot.web.console.hub import ConsoleHub
from bot.web.console.keys import CONSOLE_COOKIES, CONSOLE_HUB, CONSOLE_LOGIN_LIMITER
from bot.web.metrics import GatewayMetrics
from bot.web.ratelimit import RateLimiter
from bot.web.staffauth import SessionCookies

PREFIX = "/helpdesk"

#: Path under /helpdesk → its GET and its POST handler (None: that method is not allowed there).
#: Handlers for a role other than the helpdesk's (medewerker, beheerder) say so themselves:
#: beheerder-only, and the editors' page.
ROUTES: dict[str, tuple[Handler | None, Handler | None]] = {
    "": (auth.index, None),
    "/": (auth.index, None),
    "/inloggen": (auth.login_get, auth.login_post),
    "/uitloggen": (None, auth.logout_post),
    # The work: the queue, a ticket, and what staff do with it
    "/wachtrij": (tickets.queue_page, None),
    "/vraag/{id}": (tickets.ticket_page, None),
    "/vraag/{id}/{actie:oppakken|terug|afronden}": (None, tickets.transition_post),
    "/vraag/{id}/bericht": (None, tickets.reply_post),
    "/vraag/{id}/notitie": (None, tickets.note_post),
    "/vraag/{id}/contact": (None, tickets.contact_post),
    # The answer by e-mail: canned reply, preview, send; a failed mail again
    "/vraag/{id}/mail": (None, mail.mail_post),
    "/vraag/{id}/mail/{mail:[0-9]{1,9}}/opnieuw": (None, mail.mail_retry_post),
    # Beheer
    "/standaardantwoorden": (admin.canned_page, admin.canned_post),
    "/standaardantwoorden/{rid}/verwijderen": (None, admin.canned_delete),
    "/medewerkers": (admin.staff_list, admin.staff_create),
    "/medewerkers/{naam}/ontgrendelen": (None, admin.staff_unlock),
    "/medewerkers/{naam}/rol": (None, admin.staff_role),
    # Redactie (redacteur and beheerder): what people ask, and CSV downloads of it
    "/redactie": (editors.editors_page, None),
    "/redactie/{soort:[a-z]+}.csv": (editors.editors_csv, None),
    # Live updates (console.js), and the same data as JSON
    "/ws": (socket.console_ws, None),
    "/api/wachtrij": (tickets.queue_api, None),
    "/api/vraag/{id}": (tickets.ticket_api, None),
}


def create_console_app(
    settings: Settings, live: LiveHandoff, bus: Bus, templates: jinja2.Environment, prom: GatewayMetrics
) -> web.Application:
    """The console, for ``app.add_subapp(PREFIX, …)``. ``live``: the gateway's live handoff
    (what console actions do); ``bus``: where its hub hears of ticket and queue changes on every
    gateway; ``templates``: the gateway's templates (the hub renders fragments of the pages with
    them); ``prom``: the gateway's metrics (refused logins, open console sockets)."""
    app = web.Application()
    app[CONSOLE_COOKIES] = SessionCookies(
        settings.cookie_secret, settings.staff_idle_timeout_s, settings.staff_absolute_timeout_s
    )
    app[CONSOLE_LOGIN_LIMITER] = limiter = RateLimiter(
        settings.helpdesk_login_rate_per_minute, on_refused=prom.refusal("login"), max_bytes=settings.limiter_max_bytes
    )
    throttle = live.staff.throttle
    prom.add_caches(
        lambda: {
            "rate_login": (*limiter.size(), dict(limiter.evictions)),
            "login_throttle": (*throttle.size(), dict(throttle.evictions)),
        }
    )
    hub = ConsoleHub(live, settings.helpdesk_poll_s, Fragments(templates, settings))
    app[CONSOLE_HUB] = hub
    bus.subscribe(hub)
    prom.console_sockets = hub.open_sockets
    for path, (get, post) in ROUTES.items():
        resource = app.router.add_resource(path)
        if get is not None:
            resource.add_route("GET", get)
        if post is not None:
            resource.add_route("POST", post)

    async def poller(_app: web.Application) -> AsyncIterator[None]:
        hub.start()
        yield
        await hub.stop()

    async def close_sockets(_app: web.Application) -> None:
        await hub.close_all()

    app.cleanup_ctx.append(poller)
    app.on_shutdown.append(close_sockets)
    return app
