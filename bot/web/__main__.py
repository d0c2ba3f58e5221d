"""python -m bot.web: run the web gateway on settings.gateway_host:gateway_port."""

from __future__ import annotations

import logging
import os
import sys

import uvloop
from aiohttp import web

from bot import settings as settings_mod
from bot.core import tracing
from bot.web import logs
from bot.web.app import create_app

# Seconds open requests get to finish when the gateway stops.
SHUTDOWN_TIMEOUT_S = 5.0


def main() -> int:
    os.umask(0o077)  # what the gateway writes (SQLite files, widget build) is this user's alone
    try:
        settings = settings_mod.get_settings()
    except settings_mod.SettingsError as exc:
        print(f"Instelling klopt niet: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    tracing.setup(settings, "gateway")
    # The handoff tables (idempotent; `python -m bot run` does it too) and, in production, no
    # demo helpdesk account.
    from bot.handoff.demo import DemoUserInProduction
    from bot.status.demo import DemoDataInProduction
    from bot.web.console import prepare_database

    try:
        prepare_database(settings)
    except (DemoUserInProduction, DemoDataInProduction) as exc:
        print(f"De gateway start niet: {exc}", file=sys.stderr)
        return 2
    logs.JsonAccessLogger.secret = settings.cookie_secret
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/"

    def announce(_message: str) -> None:
        print(f"Kansrijke Wijk Assistent draait: open {url} in je browser.", flush=True)

    web.run_app(
        create_app(settings),
        # uvloop (already installed with Sanic for the action server): the gateway is mostly
        # socket work, which it does in C.
        loop=uvloop.new_event_loop(),
        host=settings.gateway_host,
        port=settings.gateway_port,
        print=announce,
        access_log=logging.getLogger("aiohttp.access"),
        access_log_class=logs.JsonAccessLogger,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        # aiohttp arms this timer when a connection opens and after each request: a client
        # that has not sent a whole request's headers by then is closed (slow-header floods).
        keepalive_timeout=settings.header_timeout_s,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
