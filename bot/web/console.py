"""The helpdesk console under /helpdesk: login, queue, ticket view, canned replies, staff.

Pages are server-rendered (Jinja2, autoescaped) and work without JavaScript; console.js adds
live updates over the console WebSocket (/helpdesk/ws) and sends replies without a page load.
Every page and API needs a staff session (bot/web/staffauth.py); every POST needs the session's
CSRF token and, when the browser sends one, the gateway's own Origin. Beheerder-only: managing
canned replies and staff accounts.

Routes (docs/console.md):

    GET  /helpdesk                                  → the queue, or the login page
    GET  /helpdesk/inloggen   POST /helpdesk/inloggen   POST /helpdesk/uitloggen
    GET  /helpdesk/wachtrij                          queue + tickets in progress (live updates)
    GET  /helpdesk/vraag/{id}                        ticket: transcript, sources, notes, actions
    POST /helpdesk/vraag/{id}/oppakken | bericht | terug | afronden | notitie | contact
    GET  /helpdesk/standaardantwoorden  POST …  POST …/{rid}/verwijderen (beheerder)
    GET  /helpdesk/medewerkers  POST …  POST …/{naam}/ontgrendelen (beheerder)
    GET  /helpdesk/ws                                console WebSocket
    GET  /helpdesk/api/wachtrij   GET /helpdesk/api/vraag/{id}   (JSON)
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

from bot.handoff import states
from bot.handoff.models import MESSAGE_MAX, ROLE_BEHEERDER, ROLE_MEDEWERKER, ROLES
from bot.handoff.service import (
    AlreadyClaimed, HandoffError, NotAssigned, TicketClosed, TicketConflict, TicketNotFound,
    TicketView, UnknownStaff,
)
from bot.handoff.staff import (
    PermissionDenied, StaffError, StaffView, MAX_FAILED_LOGINS, LOCKOUT,
)
from bot.web import pages
from bot.web.handoff import ROUTER, ConsoleConn, HandoffRouter, knowledge_answers, ticket_frame
from bot.web.keys import HTTP, HUB, METRICS, SETTINGS
from bot.web.ratelimit import RateLimiter
from bot.web.security import client_ip, rate_key
from bot.web.staffauth import (
    COOKIE, LOGIN_COOKIE, RENEW_AFTER_S, SESSION, STAFF, SessionCookies, StaffSession,
    FormRefused, clear_cookie, csrf_matches, read_form, same_origin, set_cookie, stamp_matches,
)

log = logging.getLogger("bot.web.console")

COOKIES = web.AppKey("kw.console_cookies", object)  # SessionCookies
LOGIN_LIMITER = web.AppKey("kw.console_login_limiter", object)  # RateLimiter

# Login attempts per client address per minute (on top of the per-account lockout).
# Proposed setting KW_HELPDESK_LOGIN_RATE_PER_MINUTE.
LOGIN_RATE_PER_MINUTE = 20
WS_HELLO_TIMEOUT_S = 10.0
WS_HEARTBEAT_S = 25.0
WS_MAX_MSG_SIZE = 16 * 1024
NOTE_MAX = 2000
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NEXT_RE = re.compile(r"^/helpdesk(/[A-Za-z0-9_/-]{0,200})?$")
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# Messages shown after a redirect (?melding=code). Fixed texts: nothing from the URL is shown.
NOTICES = {
    "uitgelogd": ("status", "Je bent uitgelogd."),
    "verlopen": ("status", "Je sessie is verlopen. Log opnieuw in."),
    "opgepakt": ("status", "Je hebt het gesprek overgenomen. De gebruiker ziet nu je naam."),
    "al_opgepakt": ("alert", "Deze vraag is al opgepakt door {wie}."),
    "collega": ("alert", "Deze vraag wordt door een collega behandeld."),
    "gewijzigd": ("alert", "De vraag is intussen gewijzigd. Bekijk de nieuwe status."),
    "kan_niet": ("alert", "Dat kan niet bij de huidige status van deze vraag."),
    "teruggegeven": ("status", "De vraag is teruggegeven aan de assistent. De gebruiker praat weer met de digitale assistent."),
    "afgerond": ("status", "De vraag is afgerond."),
    "verstuurd": ("status", "Je bericht is verstuurd."),
    "niet_afgeleverd": ("alert", "Je bericht is opgeslagen, maar de assistent was niet bereikbaar. Als de gebruiker de chat open heeft, ziet hij het wel."),
    "leeg": ("alert", "Je bericht is leeg. Typ eerst een tekst."),
    "te_lang": ("alert", "Je tekst is te lang."),
    "notitie": ("status", "Je notitie is opgeslagen."),
    "opgeslagen": ("status", "Het standaardantwoord is opgeslagen."),
    "verwijderd": ("status", "Het standaardantwoord is verwijderd."),
    "niet_gevonden": ("alert", "Dit standaardantwoord bestaat niet meer."),
    "ongeldig": ("alert", "Vul alle velden in."),
    "aangemaakt": ("status", "Het account is aangemaakt."),
    "ontgrendeld": ("status", "Het account is ontgrendeld."),
    "rol": ("status", "De rol is aangepast."),
}
LOGIN_FAILED = (f"Inloggen is niet gelukt. Controleer je gebruikersnaam en wachtwoord. Na "
                f"{MAX_FAILED_LOGINS} mislukte pogingen wordt een account "
                f"{int(LOCKOUT.total_seconds() // 60)} minuten geblokkeerd.")
LOGIN_THROTTLED = "Er wordt te vaak geprobeerd in te loggen. Wacht {wait} seconden en probeer het opnieuw."
FORM_EXPIRED = "Het formulier is verlopen. Probeer het opnieuw."
SENDER_LABELS = {"gebruiker": "Gebruiker", "assistent": "Assistent", "medewerker": "Medewerker",
                 "systeem": "Systeem"}
ROLE_LABELS = {ROLE_MEDEWERKER: "medewerker", ROLE_BEHEERDER: "beheerder"}


# ------------------------------------------------------------------------------ helpers

def router_of(request: web.Request) -> HandoffRouter:
    return request.app[ROUTER]


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.path.startswith("/helpdesk/api/")


def local_time(settings: Any, value: Optional[dt.datetime], with_date: bool = False) -> str:
    if value is None:
        return ""
    try:
        tz = ZoneInfo(settings.timezone)
    except Exception:  # noqa: BLE001
        tz = dt.timezone.utc
    local = value.replace(tzinfo=dt.timezone.utc).astimezone(tz)
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


def iso(value: Optional[dt.datetime]) -> str:
    return "" if value is None else value.isoformat(timespec="seconds") + "Z"


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "fout": message, **extra}, status=status,
                             headers={"Cache-Control": "no-store"})


def notice_from(request: web.Request, **values: Any) -> Optional[Dict[str, str]]:
    code = request.query.get("melding", "")
    if code not in NOTICES:
        return None
    kind, text = NOTICES[code]
    try:
        text = text.format(**values)
    except (KeyError, IndexError):
        text = text.replace("{wie}", "een collega")
    return {"kind": kind, "text": text}


def redirect(location: str, code: Optional[str] = None) -> web.Response:
    """303 See Other (post/redirect/get); ``code`` names a fixed notice for the next page."""
    if code:
        location += ("&" if "?" in location else "?") + "melding=" + code
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    staff: Optional[StaffView] = request.get(STAFF)
    session: Optional[StaffSession] = request.get(SESSION)
    settings = request.app[SETTINGS]
    context.setdefault("notice", None)
    resp = pages.render(
        request, name, status=status, staff=staff, csrf=session.csrf if session else "",
        role_labels=ROLE_LABELS, fmt_time=functools.partial(local_time, settings),
        duration=duration, iso=iso, **context)
    # The gateway's default is no-referrer; then browsers send "Origin: null" with the console's
    # own form posts and fetches, and the origin check could not tell them from a foreign site.
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


# ------------------------------------------------------------------------------ authentication

async def current_staff(request: web.Request) -> Optional[StaffView]:
    """The logged-in staff member (also sets request[STAFF], request[SESSION]), or None."""
    if STAFF in request:
        return request[STAFF]
    cookies: SessionCookies = request.app[COOKIES]
    session = cookies.parse(request.cookies.get(COOKIE))
    if session is None:
        return None
    router = router_of(request)
    try:
        user = await router.run(router.staff.get, session.user_id)
    except Exception:  # noqa: BLE001
        log.exception("staff lookup failed")
        raise web.HTTPServiceUnavailable(text="De database is niet bereikbaar.")
    if user is None or not user.is_active or not stamp_matches(session, user):
        return None
    request[STAFF] = user
    request[SESSION] = session
    return user


def _renew_cookie(request: web.Request, response: web.StreamResponse) -> None:
    session: Optional[StaffSession] = request.get(SESSION)
    if session is None or isinstance(response, web.WebSocketResponse) or response.prepared:
        return
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    if now - session.issued_at >= RENEW_AFTER_S:
        cookies: SessionCookies = request.app[COOKIES]
        set_cookie(response, request, request.app[SETTINGS], COOKIE,
                   cookies.issue(cookies.renew(session)), cookies.idle_s)


def staff_page(*, role: Optional[str] = None, post: bool = False):
    """Decorator: a console handler that needs a logged-in staff member (of ``role``), and for
    POSTs a valid CSRF token and the gateway's own origin."""

    def wrap(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            staff = await current_staff(request)
            if staff is None:
                if wants_json(request) or request.method != "GET":
                    return json_error(401, "Log eerst in.") if wants_json(request) \
                        else redirect("/helpdesk/inloggen", "verlopen")
                target = request.path if _NEXT_RE.match(request.path) else "/helpdesk/wachtrij"
                return redirect(f"/helpdesk/inloggen?volgende={target}")
            if post:
                if not same_origin(request):
                    return forbidden(request, "Dit verzoek komt niet van de helpdesk-console.")
                try:
                    form = await read_form(request)
                except FormRefused as exc:
                    return form_refused(request, exc.status)
                token = request.headers.get("X-CSRF-Token") or form.get("csrf")
                if not csrf_matches(request[SESSION], token):
                    return forbidden(request, "Het formulier is verlopen of ongeldig. Ververs de pagina en probeer het opnieuw.")
            if role == ROLE_BEHEERDER and not staff.is_beheerder:
                return forbidden(request, "Alleen een beheerder mag dit doen.")
            response = await handler(request)
            _renew_cookie(request, response)
            return response

        return wrapped

    return wrap


def form_refused(request: web.Request, status: int) -> web.Response:
    message = ("Dit formulier is te groot." if status == 413
               else "Dit formulier kon ik niet lezen. Ververs de pagina en probeer het opnieuw.")
    if wants_json(request):
        return json_error(status, message)
    return render(request, "console/error.html", status=status, title="Formulier geweigerd", message=message)


def forbidden(request: web.Request, message: str) -> web.Response:
    if wants_json(request):
        return json_error(403, message)
    return render(request, "console/error.html", status=403, title="Geen toegang", message=message)


def not_found(request: web.Request, message: str = "Deze vraag bestaat niet (meer).") -> web.Response:
    if wants_json(request):
        return json_error(404, message)
    return render(request, "console/error.html", status=404, title="Niet gevonden", message=message)


# ------------------------------------------------------------------------------ login / logout

async def login_page(request: web.Request, error: Optional[str] = None, status: int = 200,
                     username: str = "") -> web.Response:
    if error is None and await current_staff(request) is not None:
        return redirect("/helpdesk/wachtrij")
    request.pop(STAFF, None)
    request.pop(SESSION, None)
    cookies: SessionCookies = request.app[COOKIES]
    cookie_value, form_token = cookies.login_token()
    target = request.query.get("volgende", "")
    if not _NEXT_RE.match(target):
        target = ""
    resp = render(request, "console/login.html", status=status, error=error,
                  login_token=form_token, next_path=target, username=username,
                  notice=notice_from(request))
    set_cookie(resp, request, request.app[SETTINGS], LOGIN_COOKIE, cookie_value, 3600)
    return resp


async def login_get(request: web.Request) -> web.Response:
    return await login_page(request)


async def login_post(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return forbidden(request, "Dit verzoek komt niet van de helpdesk-console.")
    cookies: SessionCookies = request.app[COOKIES]
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return form_refused(request, exc.status)
    if not cookies.check_login_token(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        return await login_page(request, FORM_EXPIRED, 403)
    username = str(form.get("gebruikersnaam") or "")[:100]
    password = form.get("wachtwoord")
    password = password if isinstance(password, str) else ""
    limiter: RateLimiter = request.app[LOGIN_LIMITER]
    allowed, wait = limiter.hit(rate_key(client_ip(request)))
    if not allowed:
        return await login_page(request, LOGIN_THROTTLED.format(wait=wait), 429, username)
    router = router_of(request)
    result = await router.run(router.staff.authenticate, username, password)
    if not result.ok or result.user is None:
        # One counter and one log reason for every failure: a separate "locked" figure would
        # tell an attacker which usernames exist.
        request.app[METRICS]["helpdesk_login_failed"] += 1
        log.info(json.dumps({"event": "helpdesk_login_failed"}))
        return await login_page(request, LOGIN_FAILED, 401, username)
    user = result.user
    request.app[METRICS]["helpdesk_logins"] += 1
    log.info(json.dumps({"event": "helpdesk_login", "staff": user.id}))
    target = str(form.get("volgende") or "")
    if not _NEXT_RE.match(target) or target.startswith("/helpdesk/inloggen"):
        target = "/helpdesk/wachtrij"
    resp = redirect(target)
    set_cookie(resp, request, request.app[SETTINGS], COOKIE,
               cookies.issue(cookies.new(user)), cookies.idle_s)
    clear_cookie(resp, request, request.app[SETTINGS], LOGIN_COOKIE)
    return resp


@staff_page(post=True)
async def logout_post(request: web.Request) -> web.StreamResponse:
    router = router_of(request)
    staff = request[STAFF]
    # Ends the session on the server: this cookie, copies of it and open console sockets.
    await router.run(router.staff.end_sessions, staff.id)
    await router.console.close_staff(staff.id)
    resp = redirect("/helpdesk/inloggen", "uitgelogd")
    clear_cookie(resp, request, request.app[SETTINGS], COOKIE)
    request.pop(SESSION, None)
    return resp


async def index(request: web.Request) -> web.StreamResponse:
    if await current_staff(request) is None:
        return redirect("/helpdesk/inloggen")
    return redirect("/helpdesk/wachtrij")


# ------------------------------------------------------------------------------ queue

@staff_page()
async def queue_page(request: web.Request) -> web.Response:
    router = router_of(request)
    snapshot = await router.queue_snapshot()
    staff: StaffView = request[STAFF]
    mine = [t for t in snapshot["actief"] if t.get("medewerker") == staff.display_name]
    return render(request, "console/queue.html", snapshot=snapshot, mine=mine,
                  hours=router.hours.describe(), is_open=router.hours.is_open(),
                  closed=router.hours.closed_message(), notice=notice_from(request))


@staff_page()
async def queue_api(request: web.Request) -> web.Response:
    snapshot = await router_of(request).queue_snapshot()
    return web.json_response(snapshot, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------ ticket

async def _load_ticket(request: web.Request) -> Optional[TicketView]:
    ref = request.match_info.get("id", "")
    if not _ID_RE.match(ref):
        return None
    router = router_of(request)
    return await router.run(router.tickets.find_ticket, ref)


async def _ticket_context(request: web.Request, ticket: TicketView) -> Dict[str, Any]:
    router = router_of(request)
    staff: StaffView = request[STAFF]
    detail = await router.run(router.tickets.ticket_detail, ticket.id)
    ticket = detail.ticket
    tracker = await router.tracker_events(ticket.conversation_id)
    # The knowledge-base answers: from the whole tracker when Rasa answers, and from the
    # transcript stored with the ticket (the same answer twice is shown once).
    bot_texts = [e.get("text") for e in tracker or () if e.get("event") == "bot"
                 and not (isinstance(e.get("metadata"), dict) and e["metadata"].get("handoff_id"))]
    bot_texts += [m.text for m in detail.messages if m.sender == "assistent"]
    canned = await router.run(router.tickets.canned_replies)
    mine = ticket.assigned_to == staff.id
    may_act = (ticket.state not in states.ASSIGNED_STATES) or mine or staff.is_beheerder
    return dict(
        ticket=ticket, messages=detail.messages, events=detail.events, notes=detail.notes,
        answers=knowledge_answers(bot_texts), tracker_ok=tracker is not None, canned=canned,
        sender_labels=SENDER_LABELS, state_label=states.label, mine=mine, may_act=may_act,
        can_take=ticket.state in (states.WACHTRIJ, states.OPGEPAKT) and may_act,
        can_reply=ticket.state == states.LIVE and may_act,
        can_finish=ticket.state in states.ASSIGNED_STATES and may_act,
        can_close=ticket.is_active and may_act,
        last_seq=detail.messages[-1].seq if detail.messages else 0,
        message_max=MESSAGE_MAX, note_max=NOTE_MAX,
    )


@staff_page()
async def ticket_page(request: web.Request) -> web.Response:
    ticket = await _load_ticket(request)
    if ticket is None:
        return not_found(request)
    context = await _ticket_context(request, ticket)
    context["notice"] = notice_from(request, wie=context["ticket"].assigned_name or "een collega")
    return render(request, "console/ticket.html", contact=None, **context)


@staff_page()
async def ticket_api(request: web.Request) -> web.Response:
    ticket = await _load_ticket(request)
    if ticket is None:
        return not_found(request)
    router = router_of(request)
    detail = await router.run(router.tickets.ticket_detail, ticket.id)
    return web.json_response({
        "ticket": ticket_frame(detail.ticket),
        "berichten": [m.to_dict() for m in detail.messages],
        "notities": [{"id": n.id, "auteur": n.author, "tekst": n.text, "tijd": iso(n.at)}
                     for n in detail.notes],
    }, headers={"Cache-Control": "no-store"})


def _action_result(request: web.Request, ticket_ref: str, code: str, ok: bool = True,
                   status: int = 200, **extra: Any) -> web.StreamResponse:
    if wants_json(request):
        kind, text = NOTICES[code]
        try:
            text = text.format(**extra)
        except KeyError:
            text = text.replace("{wie}", "een collega")
        body = {"ok": ok, "melding": text, **{k: v for k, v in extra.items() if k != "wie"}}
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})
    return redirect(f"/helpdesk/vraag/{ticket_ref}", code)


def _handoff_error(request: web.Request, ref: str, exc: Exception) -> web.StreamResponse:
    if isinstance(exc, AlreadyClaimed):
        who = exc.ticket.assigned_name if exc.ticket is not None else None
        return _action_result(request, ref, "al_opgepakt", ok=False, status=409,
                              wie=who or "een collega")
    if isinstance(exc, NotAssigned):
        return _action_result(request, ref, "collega", ok=False, status=403)
    if isinstance(exc, TicketConflict):
        return _action_result(request, ref, "gewijzigd", ok=False, status=409)
    if isinstance(exc, (states.InvalidTransition, TicketClosed)):
        return _action_result(request, ref, "kan_niet", ok=False, status=409)
    if isinstance(exc, TicketNotFound):
        return not_found(request)
    raise exc


async def _ticket_action(request: web.Request, action: Callable[[TicketView, StaffView], Awaitable[str]]
                         ) -> web.StreamResponse:
    ticket = await _load_ticket(request)
    if ticket is None:
        return not_found(request)
    try:
        code = await action(ticket, request[STAFF])
    except (HandoffError, states.InvalidTransition, PermissionDenied, UnknownStaff) as exc:
        if isinstance(exc, (PermissionDenied, UnknownStaff)):
            return forbidden(request, str(exc))
        return _handoff_error(request, ticket.public_id, exc)
    return _action_result(request, ticket.public_id, code)


@staff_page(post=True)
async def take_post(request: web.Request) -> web.StreamResponse:
    router = router_of(request)

    async def act(ticket: TicketView, staff: StaffView) -> str:
        await router.take(ticket, staff)
        return "opgepakt"

    return await _ticket_action(request, act)


@staff_page(post=True)
async def hand_back_post(request: web.Request) -> web.StreamResponse:
    router = router_of(request)

    async def act(ticket: TicketView, staff: StaffView) -> str:
        await router.finish(ticket, staff, close=False)
        return "teruggegeven"

    return await _ticket_action(request, act)


@staff_page(post=True)
async def close_post(request: web.Request) -> web.StreamResponse:
    router = router_of(request)

    async def act(ticket: TicketView, staff: StaffView) -> str:
        await router.finish(ticket, staff, close=True)
        return "afgerond"

    return await _ticket_action(request, act)


@staff_page(post=True)
async def reply_post(request: web.Request) -> web.StreamResponse:
    ticket = await _load_ticket(request)
    if ticket is None:
        return not_found(request)
    form = await read_form(request)
    text = form.get("tekst")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return _action_result(request, ticket.public_id, "leeg", ok=False, status=400)
    if len(text) > MESSAGE_MAX:
        return _action_result(request, ticket.public_id, "te_lang", ok=False, status=400)
    client_id = form.get("client_id")
    client_id = client_id if isinstance(client_id, str) and _CLIENT_ID_RE.match(client_id) else None
    router = router_of(request)
    try:
        message, delivered = await router.reply(ticket, request[STAFF], text, client_id)
    except (HandoffError, states.InvalidTransition) as exc:
        return _handoff_error(request, ticket.public_id, exc)
    code = "verstuurd" if delivered else "niet_afgeleverd"
    if wants_json(request):
        kind, note = NOTICES[code]
        return web.json_response({"ok": True, "afgeleverd": delivered, "melding": note,
                                  "bericht": message.to_dict()}, headers={"Cache-Control": "no-store"})
    return redirect(f"/helpdesk/vraag/{ticket.public_id}", code)


@staff_page(post=True)
async def note_post(request: web.Request) -> web.StreamResponse:
    ticket = await _load_ticket(request)
    if ticket is None:
        return not_found(request)
    form = await read_form(request)
    text = form.get("tekst")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return _action_result(request, ticket.public_id, "leeg", ok=False, status=400)
    if len(text) > NOTE_MAX:
        return _action_result(request, ticket.public_id, "te_lang", ok=False, status=400)
    router = router_of(request)
    note = await router.run(router.tickets.add_note, ticket, request[STAFF], text)
    frame = {"type": "note", "ticket": ticket.public_id,
             "note": {"id": note.id, "auteur": note.author, "tekst": note.text, "tijd": iso(note.at)}}
    for conn in router.console.watching(ticket.id):
        await router.console.send(conn, frame)
    if wants_json(request):
        return web.json_response({"ok": True, "melding": NOTICES["notitie"][1], "notitie": frame["note"]},
                                 headers={"Cache-Control": "no-store"})
    return redirect(f"/helpdesk/vraag/{ticket.public_id}", "notitie")


@staff_page(post=True)
async def contact_post(request: web.Request) -> web.StreamResponse:
    """Show the decrypted contact (a POST, so it is never in a URL or a cached page)."""
    ticket = await _load_ticket(request)
    if ticket is None:
        return not_found(request)
    router = router_of(request)
    try:
        contact = await router.run(router.tickets.contact_for, ticket, request[STAFF])
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    log.info(json.dumps({"event": "helpdesk_contact_shown", "ticket": ticket.id,
                         "staff": request[STAFF].id}))
    context = await _ticket_context(request, ticket)
    return render(request, "console/ticket.html", contact=contact or "", **context)


# ------------------------------------------------------------------------------ canned replies

@staff_page()
async def canned_page(request: web.Request) -> web.Response:
    router = router_of(request)
    replies = await router.run(router.tickets.canned_replies)
    return render(request, "console/canned.html", replies=replies, notice=notice_from(request))


@staff_page(post=True, role=ROLE_BEHEERDER)
async def canned_post(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    title, text = form.get("titel"), form.get("tekst")
    if not isinstance(title, str) or not isinstance(text, str) or not title.strip() or not text.strip():
        return redirect("/helpdesk/standaardantwoorden", "ongeldig")
    router = router_of(request)
    try:
        await router.run(router.tickets.save_canned_reply, title, text, by=request[STAFF])
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    except ValueError:
        return redirect("/helpdesk/standaardantwoorden", "ongeldig")
    return redirect("/helpdesk/standaardantwoorden", "opgeslagen")


@staff_page(post=True, role=ROLE_BEHEERDER)
async def canned_delete(request: web.Request) -> web.StreamResponse:
    try:
        reply_id = int(request.match_info["rid"])
    except ValueError:
        return redirect("/helpdesk/standaardantwoorden", "niet_gevonden")
    router = router_of(request)
    try:
        deleted = await router.run(router.tickets.delete_canned_reply, reply_id, by=request[STAFF])
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    return redirect("/helpdesk/standaardantwoorden", "verwijderd" if deleted else "niet_gevonden")


# ------------------------------------------------------------------------------ staff accounts

@staff_page(role=ROLE_BEHEERDER)
async def staff_list(request: web.Request, error: Optional[str] = None, status: int = 200) -> web.Response:
    router = router_of(request)
    users = await router.run(router.staff.list_users)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return render(request, "console/staff.html", status=status, users=users, roles=ROLES, now=now,
                  error=error, notice=notice_from(request))


@staff_page(post=True, role=ROLE_BEHEERDER)
async def staff_create(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    router = router_of(request)
    values = [form.get(k) for k in ("gebruikersnaam", "naam", "wachtwoord", "rol")]
    if not all(isinstance(v, str) for v in values):
        return redirect("/helpdesk/medewerkers", "ongeldig")
    username, name, password, role = values
    if role not in ROLES:
        return redirect("/helpdesk/medewerkers", "ongeldig")
    try:
        await router.run(router.staff.create_user, username, name, password, role)
    except StaffError as exc:
        users = await router.run(router.staff.list_users)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return render(request, "console/staff.html", status=400, users=users, roles=ROLES,
                      now=now, error=str(exc), notice=None)
    log.info(json.dumps({"event": "helpdesk_staff_created", "by": request[STAFF].id}))
    return redirect("/helpdesk/medewerkers", "aangemaakt")


@staff_page(post=True, role=ROLE_BEHEERDER)
async def staff_unlock(request: web.Request) -> web.StreamResponse:
    router = router_of(request)
    try:
        await router.run(router.staff.unlock, request.match_info["naam"], by=request[STAFF])
    except (StaffError, PermissionDenied):
        return redirect("/helpdesk/medewerkers", "ongeldig")
    return redirect("/helpdesk/medewerkers", "ontgrendeld")


@staff_page(post=True, role=ROLE_BEHEERDER)
async def staff_role(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    router = router_of(request)
    role = form.get("rol")
    if role not in ROLES:
        return redirect("/helpdesk/medewerkers", "ongeldig")
    try:
        await router.run(router.staff.change_role, request.match_info["naam"], role, by=request[STAFF])
    except (StaffError, PermissionDenied):
        return redirect("/helpdesk/medewerkers", "ongeldig")
    return redirect("/helpdesk/medewerkers", "rol")


# ------------------------------------------------------------------------------ WebSocket

async def console_ws(request: web.Request) -> web.StreamResponse:
    """Live updates for the console. Handshake: the gateway's own Origin and a staff session;
    first frame ``{"type": "hello", "csrf": TOKEN, "ticket": ID|null, "after": SEQ}``."""
    if not same_origin(request, required=True):
        request.app[METRICS]["helpdesk_ws_forbidden_origin"] += 1
        return json_error(403, "Verbinding geweigerd.")
    staff = await current_staff(request)
    if staff is None:
        return json_error(401, "Log eerst in.")
    router = router_of(request)
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=WS_MAX_MSG_SIZE)
    await ws.prepare(request)
    try:
        msg = await ws.receive(timeout=WS_HELLO_TIMEOUT_S)
    except asyncio.TimeoutError:
        await ws.close(code=1008, message=b"no hello")
        return ws
    hello: Any = None
    if msg.type == WSMsgType.TEXT:
        try:
            hello = json.loads(msg.data)
        except (ValueError, RecursionError):
            hello = None
    if not (isinstance(hello, dict) and hello.get("type") == "hello"
            and csrf_matches(request[SESSION], hello.get("csrf"))):
        await ws.close(code=1008, message=b"csrf")
        return ws
    conn = ConsoleConn(ws=ws, staff_id=staff.id, stamp=request[SESSION].stamp)
    ticket_ref = hello.get("ticket")
    if isinstance(ticket_ref, str) and _ID_RE.match(ticket_ref):
        ticket = await router.run(router.tickets.find_ticket, ticket_ref)
        if ticket is not None:
            conn.ticket_id = ticket.id
            after = hello.get("after")
            conn.after = after if isinstance(after, int) and after >= 0 else 0
    router.console.add(conn)
    request.app[METRICS]["helpdesk_ws_connections"] += 1
    try:
        await ws.send_json({"type": "ready"})
        await ws.send_json(await router.queue_snapshot())
        await router.catch_up(conn)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    frame = json.loads(msg.data)
                except (ValueError, RecursionError):
                    continue
                if isinstance(frame, dict) and frame.get("type") == "ping":
                    await ws.send_json({"type": "pong"})
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    except (ConnectionError, RuntimeError):
        pass
    finally:
        router.console.remove(ws)
        if not ws.closed:
            await ws.close()
    return ws


# ------------------------------------------------------------------------------ set-up

async def _router_ctx(app: web.Application):
    """cleanup_ctx, after the gateway's Rasa session: start the router (made by the app
    factory and handed to the chat service there)."""
    router: HandoffRouter = app[ROUTER]
    router.start(app[HTTP], app[HUB].push)
    yield
    await router.stop()


async def _close_console(app: web.Application) -> None:
    await app[ROUTER].console.close_all()


def prepare_database(settings: Any) -> None:
    """Start-up: create/upgrade the handoff tables (idempotent, also done by ``python -m bot
    run``) and, in production, refuse to start while a demo account exists."""
    from bot import migrations
    from bot.handoff.staff import check_production
    from bot.status import demo

    migrations.upgrade(settings.database_url)
    check_production(settings)
    demo.check_production(settings)


def setup_console(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[COOKIES] = SessionCookies(settings.cookie_secret, settings.staff_idle_timeout_s,
                                  settings.staff_absolute_timeout_s)
    app[LOGIN_LIMITER] = RateLimiter(LOGIN_RATE_PER_MINUTE)
    r = app.router
    r.add_get("/helpdesk", index, name="helpdesk")
    r.add_get("/helpdesk/", index)
    r.add_get("/helpdesk/inloggen", login_get, name="helpdesk_login")
    r.add_post("/helpdesk/inloggen", login_post)
    r.add_post("/helpdesk/uitloggen", logout_post, name="helpdesk_logout")
    r.add_get("/helpdesk/wachtrij", queue_page, name="helpdesk_queue")
    r.add_get("/helpdesk/vraag/{id}", ticket_page, name="helpdesk_ticket")
    r.add_post("/helpdesk/vraag/{id}/oppakken", take_post)
    r.add_post("/helpdesk/vraag/{id}/bericht", reply_post)
    r.add_post("/helpdesk/vraag/{id}/terug", hand_back_post)
    r.add_post("/helpdesk/vraag/{id}/afronden", close_post)
    r.add_post("/helpdesk/vraag/{id}/notitie", note_post)
    r.add_post("/helpdesk/vraag/{id}/contact", contact_post)
    r.add_get("/helpdesk/standaardantwoorden", canned_page, name="helpdesk_canned")
    r.add_post("/helpdesk/standaardantwoorden", canned_post)
    r.add_post("/helpdesk/standaardantwoorden/{rid}/verwijderen", canned_delete)
    r.add_get("/helpdesk/medewerkers", staff_list, name="helpdesk_staff")
    r.add_post("/helpdesk/medewerkers", staff_create)
    r.add_post("/helpdesk/medewerkers/{naam}/ontgrendelen", staff_unlock)
    r.add_post("/helpdesk/medewerkers/{naam}/rol", staff_role)
    r.add_get("/helpdesk/ws", console_ws, name="helpdesk_ws")
    r.add_get("/helpdesk/api/wachtrij", queue_api)
    r.add_get("/helpdesk/api/vraag/{id}", ticket_api)
    app.cleanup_ctx.append(_router_ctx)
    app.on_shutdown.append(_close_console)


__all__ = ["setup_console", "prepare_database", "NOTICES"]
