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
from bot.web.console import admin, auth, editors, socket, tickets
from bot.web.console.fragments import Fragments
from bot.web.console.hub import ConsoleHub
from bot.web.console.keys import CONSOLE_COOKIES, CONSOLE_HUB, CONSOLE_LOGIN_LIMITER
from bot.web.metrics import GatewayMetrics
from bot.web.ratelimit import RateLimiter
from bot.web.staffauth import SessionCookies

PREFIX = "/helpdesk"

#: Path under /helpdesk → what each method does there. Handlers for a role other than the
#: helpdesk's (medewerker, beheerder) say so themselves: beheerder-only, and the editors' page.
ROUTES: dict[str, dict[str, Handler]] = {
    "": {"GET": auth.index},
    "/": {"GET": auth.index},
    "/inloggen": {"GET": auth.login_get, "POST": auth.login_post},
    "/uitloggen": {"POST": auth.logout_post},
    # The work: the queue, a ticket, and what staff do with it
    "/wachtrij": {"GET": tickets.queue_page},
    "/vraag/{id}": {"GET": tickets.ticket_page},
    "/vraag/{id}/{actie:oppakken|terug|afronden}": {"POST": tickets.transition_post},
    "/vraag/{id}/bericht": {"POST": tickets.reply_post},
    "/vraag/{id}/notitie": {"POST": tickets.note_post},
    "/vraag/{id}/contact": {"POST": tickets.contact_post},
    # Beheer
    "/standaardantwoorden": {"GET": admin.canned_page, "POST": admin.canned_post},
    "/standaardantwoorden/{rid}/verwijderen": {"POST": admin.canned_delete},
    "/medewerkers": {"GET": admin.staff_list, "POST": admin.staff_create},
    "/medewerkers/{naam}/ontgrendelen": {"POST": admin.staff_unlock},
    "/medewerkers/{naam}/rol": {"POST": admin.staff_role},
    # Redactie (redacteur and beheerder): what people ask, and CSV downloads of it
    "/redactie": {"GET": editors.editors_page},
    "/redactie/{soort:[a-z]+}.csv": {"GET": editors.editors_csv},
    # Live updates (console.js), and the same data as JSON
    "/ws": {"GET": socket.console_ws},
    "/api/wachtrij": {"GET": tickets.queue_api},
    "/api/vraag/{id}": {"GET": tickets.ticket_api},
}


def create_console_app(settings: Settings, live: LiveHandoff, bus: Bus, templates: jinja2.Environment,
                       prom: GatewayMetrics) -> web.Application:
    """The console, for ``app.add_subapp(PREFIX, …)``. ``live``: the gateway's live handoff
    (what console actions do); ``bus``: where its hub hears of ticket and queue changes on every
    gateway; ``templates``: the gateway's templates (the hub renders fragments of the pages with
    them); ``prom``: the gateway's metrics (refused logins, open console sockets)."""
    app = web.Application()
    app[CONSOLE_COOKIES] = SessionCookies(settings.cookie_secret, settings.staff_idle_timeout_s,
                                          settings.staff_absolute_timeout_s)
    app[CONSOLE_LOGIN_LIMITER] = RateLimiter(settings.helpdesk_login_rate_per_minute,
                                             on_refused=prom.refusal("login"))
    hub = ConsoleHub(live, settings.helpdesk_poll_s, Fragments(templates, settings))
    app[CONSOLE_HUB] = hub
    bus.subscribe(hub)
    prom.console_sockets = hub.open_sockets
    for path, methods in ROUTES.items():
        resource = app.router.add_resource(path)
        for method, handler in methods.items():
            resource.add_route(method, handler)

    async def poller(_app: web.Application) -> AsyncIterator[None]:
        hub.start()
        yield
        await hub.stop()

    async def close_sockets(_app: web.Application) -> None:
        await hub.close_all()

    app.cleanup_ctx.append(poller)
    app.on_shutdown.append(close_sockets)
    return app
