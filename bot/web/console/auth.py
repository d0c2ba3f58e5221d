"""Console authentication: the staff session on every request, the ``staff_page`` guard (login,
CSRF, origin, role), login and logout.

Every page and API needs a staff session (bot/web/staffauth.py); every POST needs the session's
CSRF token and, when the browser sends one, the gateway's own Origin.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import texts
from bot.core.logs import log_event
from bot.handoff.login_throttle import LOCKOUT, MAX_FAILED_LOGINS
from bot.handoff.models import HELPDESK_ROLES, ROLE_BEHEERDER, ROLES
from bot.handoff.staff import StaffView
from bot.web.console.keys import CONSOLE_COOKIES, CONSOLE_HUB, CONSOLE_LOGIN_LIMITER
from bot.web.console.render import (
    forbidden,
    form_refused,
    json_error,
    notice_from,
    redirect,
    render,
    wants_json,
)
from bot.web.keys import LIVE, METRICS, SETTINGS
from bot.web.security import client_ip, rate_key, same_origin
from bot.web.staffauth import (
    COOKIE,
    LOGIN_COOKIE,
    RENEW_AFTER_S,
    SESSION,
    STAFF,
    FormRefused,
    StaffSession,
    clear_cookie,
    csrf_matches,
    read_form,
    set_cookie,
    stamp_matches,
)

log = logging.getLogger("bot.web.console")

#: Where a login may send the browser afterwards (the console's own pages only).
NEXT_RE = re.compile(r"^/helpdesk(/[A-Za-z0-9_/-]{0,200})?$")
QUEUE_PATH = "/helpdesk/wachtrij"
LOGIN_PATH = "/helpdesk/inloggen"
EDITORS_PATH = "/helpdesk/redactie"


def home_path(staff: StaffView) -> str:
    """Where a login lands: the queue for the helpdesk, the editors' page for a redacteur."""
    return QUEUE_PATH if staff.works_helpdesk else EDITORS_PATH


async def current_staff(request: web.Request) -> StaffView | None:
    """The logged-in staff member (also sets request[STAFF], request[SESSION]), or None."""
    if STAFF in request:
        return request[STAFF]
    cookies = request.config_dict[CONSOLE_COOKIES]
    session = cookies.parse(request.cookies.get(COOKIE))
    if session is None:
        return None
    live = request.config_dict[LIVE]
    try:
        user = await live.run(live.staff.get, session.user_id)
    except Exception:
        log.exception("staff lookup failed")
        raise web.HTTPServiceUnavailable(text=texts.DATABASE_DOWN) from None
    if user is None or not user.is_active or not stamp_matches(session, user):
        return None
    request[STAFF] = user
    request[SESSION] = session
    return user


def _renew_cookie(request: web.Request, response: web.StreamResponse) -> None:
    session: StaffSession | None = request.get(SESSION)
    if session is None or isinstance(response, web.WebSocketResponse) or response.prepared:
        return
    now = int(dt.datetime.now(dt.UTC).timestamp())
    if now - session.issued_at >= RENEW_AFTER_S:
        cookies = request.config_dict[CONSOLE_COOKIES]
        set_cookie(
            response,
            request,
            request.config_dict[SETTINGS],
            COOKIE,
            cookies.issue(cookies.renew(session)),
            cookies.idle_s,
        )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def staff_page(
    *,
    role: str | None = None,
    post: bool = False,
    roles: tuple[str, ...] = HELPDESK_ROLES,
    refused: str = texts.HELPDESK_ONLY,
) -> Callable[[Handler], Handler]:
    """Decorator: a console handler that needs a logged-in staff member (of ``role``; by default
    one of ``roles``, the helpdesk: a redacteur only has the editors' page), and for POSTs a
    valid CSRF token and the gateway's own origin. ``refused`` is the 403 page's sentence."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            staff = await current_staff(request)
            if staff is None:
                if wants_json(request):
                    return json_error(401, texts.LOG_IN_FIRST)
                if request.method != "GET":
                    return redirect(LOGIN_PATH, "verlopen")
                target = request.path if NEXT_RE.match(request.path) else QUEUE_PATH
                return redirect(f"{LOGIN_PATH}?volgende={target}")
            if post:
                if not same_origin(request):
                    return forbidden(request, texts.FOREIGN_ORIGIN)
                try:
                    form = await read_form(request)
                except FormRefused as exc:
                    return form_refused(request, exc.status)
                token = request.headers.get("X-CSRF-Token") or form.get("csrf")
                if not csrf_matches(request[SESSION], token):
                    return forbidden(request, texts.FORM_INVALID)
            if role == ROLE_BEHEERDER and not staff.is_beheerder:
                return forbidden(request, texts.BEHEERDER_ONLY)
            if staff.role not in roles:
                return forbidden(request, refused)
            response = await handler(request)
            _renew_cookie(request, response)
            return response

        return wrapped

    return wrap


async def login_page(
    request: web.Request, error: str | None = None, status: int = 200, username: str = ""
) -> web.Response:
    if error is None and (staff := await current_staff(request)) is not None:
        return redirect(home_path(staff))
    request.pop(STAFF, None)
    request.pop(SESSION, None)
    cookies = request.config_dict[CONSOLE_COOKIES]
    cookie_value, form_token = cookies.login_token()
    target = request.query.get("volgende", "")
    if not NEXT_RE.match(target):
        target = ""
    resp = render(
        request,
        "console/login.html",
        status=status,
        error=error,
        login_token=form_token,
        next_path=target,
        username=username,
        notice=notice_from(request),
    )
    set_cookie(resp, request, request.config_dict[SETTINGS], LOGIN_COOKIE, cookie_value, 3600)
    return resp


async def login_get(request: web.Request) -> web.Response:
    return await login_page(request)


async def login_post(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return forbidden(request, texts.FOREIGN_ORIGIN)
    cookies = request.config_dict[CONSOLE_COOKIES]
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return form_refused(request, exc.status)
    if not cookies.check_login_token(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        return await login_page(request, texts.FORM_EXPIRED, 403)
    username = str(form.get("gebruikersnaam") or "")[:100]
    password = form.get("wachtwoord")
    password = password if isinstance(password, str) else ""
    limiter = request.config_dict[CONSOLE_LOGIN_LIMITER]
    allowed, wait = limiter.hit(rate_key(client_ip(request)))
    if not allowed:
        return await login_page(request, texts.LOGIN_THROTTLED.format(wait=wait), 429, username)
    live = request.config_dict[LIVE]
    metrics = request.config_dict[METRICS]
    # The lockout counts per account *and* address: failures from elsewhere never refuse the
    # right password from here (bot/handoff/login_throttle.py).
    result = await live.run(live.staff.authenticate, username, password, client=rate_key(client_ip(request)))
    if not result.ok or result.user is None:
        # One counter and one log reason for every failure: a separate "locked" figure would
        # tell an attacker which usernames exist.
        metrics["helpdesk_login_failed"] += 1
        log_event(log, "helpdesk_login_failed")
        failed = texts.LOGIN_FAILED.format(tries=MAX_FAILED_LOGINS, minutes=int(LOCKOUT.total_seconds() // 60))
        return await login_page(request, failed, 401, username)
    user = result.user
    metrics["helpdesk_logins"] += 1
    log_event(log, "helpdesk_login", staff=user.id)
    target = str(form.get("volgende") or "")
    if not NEXT_RE.match(target) or target.startswith(LOGIN_PATH):
        target = home_path(user)
    resp = redirect(target)
    settings = request.config_dict[SETTINGS]
    set_cookie(resp, request, settings, COOKIE, cookies.issue(cookies.new(user)), cookies.idle_s)
    clear_cookie(resp, request, settings, LOGIN_COOKIE)
    return resp


@staff_page(post=True, roles=ROLES)
async def logout_post(request: web.Request) -> web.StreamResponse:
    live = request.config_dict[LIVE]
    staff = request[STAFF]
    # Ends the session on the server: this cookie, copies of it and open console sockets.
    await live.run(live.staff.end_sessions, staff.id)
    await request.config_dict[CONSOLE_HUB].close_staff(staff.id)
    resp = redirect(LOGIN_PATH, "uitgelogd")
    clear_cookie(resp, request, request.config_dict[SETTINGS], COOKIE)
    request.pop(SESSION, None)
    return resp


async def index(request: web.Request) -> web.StreamResponse:
    staff = await current_staff(request)
    if staff is None:
        return redirect(LOGIN_PATH)
    return redirect(home_path(staff))
