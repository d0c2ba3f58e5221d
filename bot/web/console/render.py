"""How console handlers answer: pages (Jinja2, autoescaped), post/redirect/get with a fixed
notice, JSON for console.js, and the Dutch error pages. The HTML fragments that console.js puts
in an open page are rendered by bot/web/console/fragments.py, from the same partial templates."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot import texts
from bot.handoff.models import ROLE_BEHEERDER, ROLE_MEDEWERKER, ROLE_REDACTEUR
from bot.handoff.staff import StaffView
from bot.texts import CONSOLE_NOTICES as NOTICES
from bot.web import pages
from bot.web.keys import SETTINGS
from bot.web.staffauth import SESSION, STAFF, StaffSession

ROLE_LABELS = {ROLE_MEDEWERKER: "medewerker", ROLE_BEHEERDER: "beheerder", ROLE_REDACTEUR: "redacteur"}
NO_STORE = {"Cache-Control": "no-store"}


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.path.startswith("/helpdesk/api/")


def local_time(settings: Any, value: dt.datetime | None, with_date: bool = False) -> str:
    if value is None:
        return ""
    tz: dt.tzinfo
    try:
        tz = ZoneInfo(settings.timezone)
    except Exception:
        tz = dt.UTC
    local = value.replace(tzinfo=dt.UTC).astimezone(tz)
    return local.strftime("%d-%m-%Y %H:%M") if with_date else local.strftime("%H:%M")


def duration(seconds: int) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "minder dan 1 minuut"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} uur {minutes} min" if minutes else f"{hours} uur"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} uur"


def iso(value: dt.datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds") + "Z"


def json_ok(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=NO_STORE)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return json_ok({"ok": False, "fout": message, **extra}, status=status)


def notice_text(code: str, **values: Any) -> str:
    """The fixed text of a notice; ``{wie}`` defaults to "een collega"."""
    text = NOTICES[code][1]
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text.replace("{wie}", "een collega")


def notice_from(request: web.Request, **values: Any) -> dict[str, str] | None:
    """The notice a redirect asked for (?melding=code). Fixed texts: nothing from the URL is shown."""
    code = request.query.get("melding", "")
    if code not in NOTICES:
        return None
    return {"kind": NOTICES[code][0], "text": notice_text(code, **values)}


def redirect(location: str, code: str | None = None) -> web.Response:
    """303 See Other (post/redirect/get); ``code`` names a fixed notice for the next page."""
    if code:
        location += ("&" if "?" in location else "?") + "melding=" + code
    return web.Response(status=303, headers={"Location": location, **NO_STORE})


def helpers(settings: Any) -> dict[str, Any]:
    """What every console template may use, on pages and in fragments (bot/web/console/fragments.py)."""
    return dict(
        fmt_time=functools.partial(local_time, settings), duration=duration, iso=iso, sender_labels=texts.SENDER_LABELS
    )


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    staff: StaffView | None = request.get(STAFF)
    session: StaffSession | None = request.get(SESSION)
    context.setdefault("notice", None)
    context = {**helpers(request.config_dict[SETTINGS]), **context}
    resp = pages.render(
        request,
        name,
        status=status,
        staff=staff,
        csrf=session.csrf if session else "",
        role_labels=ROLE_LABELS,
        **context,
    )
    # The gateway's default is no-referrer; then browsers send "Origin: null" with the console's
    # own form posts and fetches, and the origin check could not tell them from a foreign site.
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    if wants_json(request):
        return json_error(status, message)
    return render(request, "console/error.html", status=status, title=title, message=message)


def form_refused(request: web.Request, status: int) -> web.Response:
    message = texts.FORM_TOO_LARGE if status == 413 else texts.FORM_UNREADABLE
    return error_page(request, status, texts.TITLE_FORM_REFUSED, message)


def forbidden(request: web.Request, message: str) -> web.Response:
    return error_page(request, 403, texts.TITLE_FORBIDDEN, message)


def not_found(request: web.Request, message: str = texts.TICKET_NOT_FOUND) -> web.Response:
    return error_page(request, 404, texts.TITLE_NOT_FOUND, message)
