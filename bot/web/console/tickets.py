"""Console pages for the work itself: the queue, a ticket (transcript, sources, notes), and what
staff do with a ticket: take / hand back / close (one table), reply, note, show the contact."""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDictProxy

from bot.core.logs import log_event
from bot.core.reply import sources_of
from bot.handoff import errors, states
from bot.handoff.live import LiveHandoff
from bot.handoff.models import MESSAGE_MAX
from bot.handoff.outbox import ANSWER_MAX
from bot.handoff.views import TicketView
from bot.texts import CONSOLE_NOTICES as NOTICES
from bot.texts import MAIL_STATUS_LABELS
from bot.web.console.auth import staff_page
from bot.web.console.hub import note_dict, ticket_frame
from bot.web.console.keys import CONSOLE_HUB
from bot.web.console.render import (
    forbidden,
    json_ok,
    not_found,
    notice_from,
    notice_text,
    redirect,
    render,
    wants_json,
)
from bot.web.keys import LIVE, RASA, SETTINGS
from bot.web.staffauth import STAFF, read_form

log = logging.getLogger("bot.web.console")

NOTE_MAX = 2000
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

#: Take / hand back / close: the word in the URL → what the live handoff does, and the notice.
TRANSITIONS = {
    "oppakken": (LiveHandoff.take, "opgepakt"),
    "terug": (LiveHandoff.hand_back, "teruggegeven"),
    "afronden": (LiveHandoff.close, "afgerond"),
}


def knowledge_answers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The knowledge-base answers in a conversation's tracker: every bot message that carries
    its sources as data (bot/core/reply.py), the same answer once."""
    out: list[dict[str, Any]] = []
    seen = set()
    for event in events:
        data = event.get("data") if event.get("event") == "bot" else None
        found = sources_of(data.get("custom")) if isinstance(data, dict) else None
        text = event.get("text")
        if found is None or not isinstance(text, str):
            continue
        key = (text, tuple(s["url"] for s in found["sources"]))
        if key not in seen:
            seen.add(key)
            out.append({"antwoord": text, **found})
    return out


# ------------------------------------------------------------------------------ queue


@staff_page()
async def queue_page(request: web.Request) -> web.Response:
    live = request.config_dict[LIVE]
    snapshot = await request.config_dict[CONSOLE_HUB].queue_snapshot()
    staff = request[STAFF]
    mine = [t for t in snapshot["actief"] if t.get("medewerker") == staff.display_name]
    failing = await live.run(live.tickets.failing_mails)
    return render(
        request,
        "console/queue.html",
        failing_mails=failing,
        snapshot=snapshot,
        mine=mine,
        hours=live.hours.describe(),
        closed=live.hours.closed_message(),
        notice=notice_from(request),
    )


@staff_page()
async def queue_api(request: web.Request) -> web.Response:
    return json_ok(await request.config_dict[CONSOLE_HUB].queue_snapshot())


# ------------------------------------------------------------------------------ ticket

TicketHandler = Callable[[web.Request, TicketView], Awaitable[web.StreamResponse]]
TextHandler = Callable[[web.Request, TicketView, MultiDictProxy[str], str], Awaitable[web.StreamResponse]]


def with_ticket(handler: TicketHandler) -> Handler:
    """Decorator: the handler gets the ticket named in the URL; an unknown one is a 404."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        ref = request.match_info.get("id", "")
        live = request.config_dict[LIVE]
        ticket = await live.run(live.tickets.find_ticket, ref) if ID_RE.match(ref) else None
        if ticket is None:
            return not_found(request)
        return await handler(request, ticket)

    return wrapped


async def ticket_context(request: web.Request, ticket: TicketView) -> dict[str, Any]:
    live = request.config_dict[LIVE]
    staff = request[STAFF]
    detail = await live.run(live.tickets.ticket_detail, ticket.id)
    ticket = detail.ticket
    # The knowledge-base answers with their sources come from Rasa's tracker, where each answer
    # keeps them as data; the transcript stored with the ticket has them as text only.
    tracker = await request.config_dict[RASA].tracker_events(ticket.conversation_id)
    canned = await live.run(live.tickets.canned_replies)
    may_act = live.may_act(ticket, staff)
    mail_on = request.config_dict[SETTINGS].mail.enabled
    mails = await live.run(live.tickets.mails_for_ticket, ticket.id)
    return dict(
        ticket=ticket,
        messages=detail.messages,
        events=detail.events,
        notes=detail.notes,
        answers=knowledge_answers(tracker or []),
        tracker_ok=tracker is not None,
        canned=canned,
        state_label=states.label,
        mine=ticket.assigned_to == staff.id,
        may_act=may_act,
        can_take=ticket.state in (states.WACHTRIJ, states.OPGEPAKT) and may_act,
        can_reply=ticket.state == states.LIVE and may_act,
        can_finish=ticket.state in states.ASSIGNED_STATES and may_act,
        can_close=ticket.is_active and may_act,
        last_seq=detail.messages[-1].seq if detail.messages else 0,
        message_max=MESSAGE_MAX,
        note_max=NOTE_MAX,
        # The answer by e-mail (bot/web/console/mail.py): the form, its preview, the history.
        mails=mails,
        mail_on=mail_on,
        can_mail=mail_on and ticket.is_active and may_act and ticket.contact_kind == "email",
        mail_text="",
        mail_key=secrets.token_urlsafe(18),
        mail_close=False,
        preview=None,
        preview_to=None,
        focus_mail=False,
        answer_max=ANSWER_MAX,
        mail_labels=MAIL_STATUS_LABELS,
    )


@staff_page()
@with_ticket
async def ticket_page(request: web.Request, ticket: TicketView) -> web.Response:
    context = await ticket_context(request, ticket)
    context["notice"] = notice_from(request, wie=context["ticket"].assigned_name or "een collega")
    return render(request, "console/ticket.html", contact=None, **context)


@staff_page()
@with_ticket
async def ticket_api(request: web.Request, ticket: TicketView) -> web.Response:
    live = request.config_dict[LIVE]
    detail = await live.run(live.tickets.ticket_detail, ticket.id)
    return json_ok(
        {
            "ticket": ticket_frame(detail.ticket),
            "berichten": [m.to_dict() for m in detail.messages],
            "notities": [note_dict(n) for n in detail.notes],
        }
    )


# ------------------------------------------------------------------------------ actions


def _action_result(
    request: web.Request, ticket_ref: str, code: str, ok: bool = True, status: int = 200, **extra: Any
) -> web.StreamResponse:
    if wants_json(request):
        body = {"ok": ok, "melding": notice_text(code, **extra), **{k: v for k, v in extra.items() if k != "wie"}}
        return json_ok(body, status=status)
    return redirect(f"/helpdesk/vraag/{ticket_ref}", code)


def _handoff_error(request: web.Request, ref: str, exc: Exception) -> web.StreamResponse:
    if isinstance(exc, errors.AlreadyClaimed):
        who = exc.ticket.assigned_name if exc.ticket is not None else None
        return _action_result(request, ref, "al_opgepakt", ok=False, status=409, wie=who or "een collega")
    if isinstance(exc, errors.NotAssigned):
        return _action_result(request, ref, "collega", ok=False, status=403)
    if isinstance(exc, errors.TicketConflict):
        return _action_result(request, ref, "gewijzigd", ok=False, status=409)
    if isinstance(exc, (states.InvalidTransition, errors.TicketClosed)):
        return _action_result(request, ref, "kan_niet", ok=False, status=409)
    if isinstance(exc, errors.TicketNotFound):
        return not_found(request)
    raise exc


def _done(request: web.Request, ticket: TicketView, code: str, **body: Any) -> web.StreamResponse:
    """After a successful action: JSON for console.js, else back to the ticket with a notice."""
    if wants_json(request):
        return json_ok({"ok": True, "melding": NOTICES[code][1], **body})
    return redirect(f"/helpdesk/vraag/{ticket.public_id}", code)


@staff_page(post=True)
@with_ticket
async def transition_post(request: web.Request, ticket: TicketView) -> web.StreamResponse:
    """oppakken | terug | afronden, by :data:`TRANSITIONS`."""
    act, code = TRANSITIONS[request.match_info["actie"]]
    try:
        await act(request.config_dict[LIVE], ticket, request[STAFF])
    except (errors.PermissionDenied, errors.UnknownStaff) as exc:
        return forbidden(request, str(exc))
    except (errors.HandoffError, states.InvalidTransition) as exc:
        return _handoff_error(request, ticket.public_id, exc)
    return _action_result(request, ticket.public_id, code)


def with_text(limit: int) -> Callable[[TextHandler], TicketHandler]:
    """Decorator under :func:`with_ticket`: the handler also gets the form and its ``tekst``
    (stripped); an empty or too long text is refused with a notice."""

    def wrap(handler: TextHandler) -> TicketHandler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request, ticket: TicketView) -> web.StreamResponse:
            form = await read_form(request)
            text = form.get("tekst")
            text = text.strip() if isinstance(text, str) else ""
            problem = "leeg" if not text else "te_lang" if len(text) > limit else None
            if problem:
                return _action_result(request, ticket.public_id, problem, ok=False, status=400)
            return await handler(request, ticket, form, text)

        return wrapped

    return wrap


@staff_page(post=True)
@with_ticket
@with_text(MESSAGE_MAX)
async def reply_post(
    request: web.Request, ticket: TicketView, form: MultiDictProxy[str], text: str
) -> web.StreamResponse:
    client_id = form.get("client_id")
    client_id = client_id if isinstance(client_id, str) and _CLIENT_ID_RE.match(client_id) else None
    live = request.config_dict[LIVE]
    try:
        message, delivered = await live.reply(ticket, request[STAFF], text, client_id)
    except (errors.HandoffError, states.InvalidTransition) as exc:
        return _handoff_error(request, ticket.public_id, exc)
    return _done(
        request,
        ticket,
        "verstuurd" if delivered else "niet_afgeleverd",
        afgeleverd=delivered,
        bericht=message.to_dict(),
        html=request.config_dict[CONSOLE_HUB].fragments.messages([message]),
    )


@staff_page(post=True)
@with_ticket
@with_text(NOTE_MAX)
async def note_post(
    request: web.Request, ticket: TicketView, form: MultiDictProxy[str], text: str
) -> web.StreamResponse:
    live = request.config_dict[LIVE]
    hub = request.config_dict[CONSOLE_HUB]
    note = await live.run(live.tickets.add_note, ticket, request[STAFF], text)
    await hub.note_added(ticket, note)
    return _done(request, ticket, "notitie", notitie=note_dict(note), html=hub.fragments.notes([note]))


@staff_page(post=True)
@with_ticket
async def contact_post(request: web.Request, ticket: TicketView) -> web.StreamResponse:
    """Show the decrypted contact (a POST, so it is never in a URL or a cached page)."""
    live = request.config_dict[LIVE]
    try:
        contact = await live.run(live.tickets.contact_for, ticket, request[STAFF])
    except errors.PermissionDenied as exc:
        return forbidden(request, str(exc))
    log_event(log, "helpdesk_contact_shown", ticket=ticket.id, staff=request[STAFF].id)
    context = await ticket_context(request, ticket)
    return render(request, "console/ticket.html", contact=contact or "", **context)
