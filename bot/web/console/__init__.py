"""The helpdesk console under /helpdesk, a sub-app of the gateway: login, queue, ticket view,
canned replies, staff, and the editors' page.

* :mod:`~bot.web.console.routes`   every console route in one table; ``create_console_app``
* :mod:`~bot.web.console.auth`     staff session, the ``staff_page`` guard, login and logout
* :mod:`~bot.web.console.tickets`  queue and ticket pages; take / hand back / close, reply, note
* :mod:`~bot.web.console.admin`    canned replies and staff accounts (beheerder)
* :mod:`~bot.web.console.editors`  the editors' page and its CSV downloads (redacteur, beheerder)
* :mod:`~bot.web.console.chart`    the editors' day chart as SVG geometry
* :mod:`~bot.web.console.socket`   the console WebSocket
* :mod:`~bot.web.console.hub`      open console sockets and what they are told
* :mod:`~bot.web.console.render`   pages, redirects with fixed notices, error pages

What a console action does to a ticket and the user's conversation is the live handoff's
(:mod:`bot.handoff.live`); the console only asks for it and shows the result.
"""

from __future__ import annotations

from typing import Any

from bot.texts import CONSOLE_NOTICES as NOTICES
from bot.web.console.routes import PREFIX, create_console_app


def prepare_database(settings: Any) -> None:
    """Start-up: create/upgrade the app database (idempotent, also done by ``python -m bot
    run``) and, in production, refuse to start while a demo account or demo data exists."""
    from bot import migrations
    from bot.handoff.demo import check_production
    from bot.status import demo

    migrations.upgrade(settings.database_url)
    check_production(settings)
    demo.check_production(settings)


__all__ = ["NOTICES", "PREFIX", "create_console_app", "prepare_database"]
