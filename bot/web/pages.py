"""HTML pages (demo portal page, privacy notice) and the health, readiness and metrics endpoints."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.core.runner import run_db
from bot.web.keys import BUS, CSP_NONCE, HUB, LIVE, METRICS, PROM, RASA, SETTINGS, TEMPLATES
from bot.web.metrics import GatewayMetrics, tickets_waiting
from bot.web.portal import DEMO_TOKEN_LIFETIME_S, issue_portal_token
from bot.web.security import client_ip, own_origin

TEMPLATE_DIR = Path(__file__).with_name("templates")
#: Prometheus' text format 0.0.4, which the hand-written lines and prometheus-client's both are.
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
# The 19 gemeenten of the regeling (docs/intents.md), for the demo login.
GEMEENTEN = (
    "Amsterdam",
    "Arnhem",
    "Breda",
    "Delft",
    "Den Haag",
    "Dordrecht",
    "Eindhoven",
    "Groningen",
    "Heerlen",
    "Leeuwarden",
    "Lelystad",
    "Nieuwegein",
    "Roosendaal",
    "Rotterdam",
    "Schiedam",
    "Tilburg",
    "Utrecht",
    "Vlaardingen",
    "Zaanstad",
)
DEMO_USER = "demo-gebruiker"
EXAMPLE_QUESTIONS = (
    "Wat is de SPUK Kansrijke Wijk?",
    "Vanaf wanneer kon je aanvragen?",
    "Welke gebieden doen mee?",
    "Mag ik het geld gebruiken voor woningbouw?",
    "Ik wil een medewerker spreken",
)


def template_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    env = request.config_dict[TEMPLATES]
    settings = request.config_dict[SETTINGS]
    body = env.get_template(name).render(
        nonce=request[CSP_NONCE], production=settings.production, path=request.path, **context
    )
    resp = web.Response(text=body, content_type="text/html", status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def demo_portal_enabled(settings: Any) -> bool:
    """The demo page mints portal tokens only outside production, and there only while
    KW_DEMO_PORTAL is not switched off."""
    return not settings.production and getattr(settings, "demo_portal", True)


async def demo_page(request: web.Request) -> web.Response:
    return render(
        request,
        "demo.html",
        mode="website",
        token="",
        gemeente="",
        gemeenten=GEMEENTEN,
        questions=EXAMPLE_QUESTIONS,
        demo_portal=demo_portal_enabled(request.app[SETTINGS]),
        lifetime_min=DEMO_TOKEN_LIFETIME_S // 60,
        gateway=str(own_origin(request) or ""),
    )


async def demo_portal_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not demo_portal_enabled(settings):
        raise web.HTTPNotFound()
    gemeente = request.query.get("gemeente", GEMEENTEN[0])
    if gemeente not in GEMEENTEN:
        gemeente = GEMEENTEN[0]
    token = issue_portal_token(settings, gemeente, DEMO_USER)
    return render(
        request,
        "demo.html",
        mode="portaal",
        token=token,
        gemeente=gemeente,
        gemeenten=GEMEENTEN,
        questions=EXAMPLE_QUESTIONS,
        demo_portal=True,
        lifetime_min=DEMO_TOKEN_LIFETIME_S // 60,
        gateway=str(own_origin(request) or ""),
    )


async def privacy_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return render(
        request, "privacy.html", retention_days=settings.retention_days, helpdesk_hours=settings.helpdesk_hours
    )


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the gateway runs (it does not ask Rasa)."""
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


def ops_allowed(request: web.Request) -> bool:
    """/metrics and /readyz: from this machine (loopback, not forwarded by a proxy) or with the
    operations token (``Authorization: Bearer KW_OPS_TOKEN``)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[len("Bearer ") :].strip().encode("utf-8", "replace")
        return hmac.compare_digest(token, request.app[SETTINGS].ops_token.encode("utf-8"))
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(client_ip(request)).is_loopback
    except ValueError:
        return False


def ops_only(
    handler: Callable[[web.Request], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Only for operations (a loopback address, or the ops token): /readyz and /metrics."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        if not ops_allowed(request):
            return web.json_response(
                {"status": "forbidden", "message": "Alleen voor beheer."},
                status=403,
                headers={"Cache-Control": "no-store"},
            )
        return await handler(request)

    return wrapped


@ops_only
async def readyz(request: web.Request) -> web.Response:
    """Readiness: Rasa has a model loaded and the action server answers."""
    checks = await request.app[RASA].ready()
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


async def _refresh(request: web.Request, prom: GatewayMetrics) -> None:
    """The figures read at scrape time (bot/web/metrics.py); a database that does not answer
    leaves them as they were and counts a scrape error."""
    from bot.handoff.hours import is_open
    from bot.status.throttle import active_throttles

    settings = request.app[SETTINGS]
    prom.refresh_sockets(len(request.app[HUB].all), prom.console_sockets())
    bus = request.app[BUS]
    prom.pubsub_connected.set(int(bool(bus.subscribed) or not bus.url))
    prom.helpdesk_open.set(int(is_open(settings)))
    try:
        waiting = await run_db(lambda: tickets_waiting(settings), settings.db_timeout_s)
    except Exception:  # the endpoint still answers
        waiting = None
    prom.refresh_tickets(waiting)
    try:
        throttles = await run_db(lambda: active_throttles(settings), settings.db_timeout_s)
    except Exception:
        throttles = None
    prom.refresh_throttles(throttles)
    try:
        outbox = await run_db(request.app[LIVE].tickets.outbox_counts, settings.db_timeout_s)
    except Exception:
        outbox = None
    prom.refresh_outbox(outbox)


@ops_only
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format, nothing personal: the gateway's metrics (bot/web/metrics.py),
    the process's database and lookup metrics (bot/core/metrics.py) and the older event
    counters."""
    from prometheus_client import generate_latest

    from bot.core.metrics import REGISTRY
    from bot.status.throttle import global_failures

    settings = request.app[SETTINGS]
    counts = request.app[METRICS]
    lines = ["# TYPE kw_gateway_events_total counter"]
    for name in sorted(counts):
        lines.append(f'kw_gateway_events_total{{event="{name}"}} {counts[name]}')
    lines.append("# TYPE kw_gateway_open_websockets gauge")
    lines.append(f"kw_gateway_open_websockets {len(request.app[HUB].all)}")
    bus = request.app[BUS]
    if bus.url:  # a cluster: whether this gateway hears the others
        lines.append("# TYPE kw_gateway_pubsub_subscribed gauge")
        lines.append(f"kw_gateway_pubsub_subscribed {int(bus.subscribed)}")
    try:
        failed = await run_db(lambda: global_failures(settings), settings.db_timeout_s)
    except Exception:  # the metric is left out, the endpoint still answers
        failed = None
    if failed is not None:
        # An alarm can watch this against KW_STATUS_GLOBAL_MAX_FAILURES (the global throttle).
        lines.append("# TYPE kw_status_failed_lookups_window gauge")
        lines.append(f"kw_status_failed_lookups_window {failed}")
        lines.append("# TYPE kw_status_global_throttle gauge")
        lines.append(f"kw_status_global_throttle {int(failed >= settings.status_global_max_failures)}")
    lines.append("# TYPE kw_gateway_time_seconds gauge")
    lines.append(f"kw_gateway_time_seconds {int(time.time())}")
    prom = request.app[PROM]
    await _refresh(request, prom)
    body = ("\n".join(lines) + "\n").encode("utf-8") + generate_latest(prom.registry) + generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": TEXT_FORMAT, "Cache-Control": "no-store"})


async def not_found(request: web.Request) -> web.Response:
    return render(request, "not_found.html", status=404)
