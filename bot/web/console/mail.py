"""The ticket page's answer by e-mail: write (a canned reply inserted on request), preview, send.

One form, three buttons (``actie``): ``invoegen`` puts the chosen canned reply in the text,
``voorbeeld`` shows the mail as it will be sent (greeting, the question as the applicant asked
it, the answer, the signature, the reference; never the transcript) with a send button, and
``versturen`` stores it in the outbox (bot/handoff/live.py's ``answer_by_mail``; the worker
sends it) and goes back to the ticket, whose history shows the mail and its status. Works
without JavaScript. The form's ``sleutel`` (made when the page is rendered) makes a resent form
store nothing twice. A failed mail can be tried again from the history.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from bot.handoff import errors, states
from bot.handoff.outbox import ANSWER_MAX, NoEmailContact
from bot.handoff.views import TicketView
from bot.texts import CONSOLE_NOTICES as NOTICES
from bot.web.console.auth import staff_page
from bot.web.console.render import forbidden, notice_text, redirect, render
from bot.web.console.tickets import _handoff_error, ticket_context, with_ticket
from bot.web.keys import LIVE, MAILER, SETTINGS
from bot.web.staffauth import STAFF, read_form

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ACTIONS = ("invoegen", "voorbeeld", "versturen")


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _form_values(form: Any) -> tuple[str, str, str, bool]:
    action = form.get("actie")
    text = form.get("tekst")
    key = form.get("sleutel")
    return (
        action if action in ACTIONS else "voorbeeld",
        text.strip() if isinstance(text, str) else "",
        key if isinstance(key, str) and KEY_RE.match(key) else new_key(),
        form.get("afronden") == "ja",
    )


async def _page(
    request: web.Request, ticket: TicketView, status: int = 200, *, notice: str | None = None, **mail: Any
) -> web.Response:
    """The ticket page with the mail form as the medewerker left it (and a notice, a preview)."""
    context = await ticket_context(request, ticket)
    context.update(mail)
    if notice is not None:
        context["notice"] = {"kind": NOTICES[notice][0], "text": notice_text(notice)}
    return render(request, "console/ticket.html", status=status, contact=None, **context)


@staff_page(post=True)
@with_ticket
async def mail_post(request: web.Request, ticket: TicketView) -> web.StreamResponse:
    settings = request.config_dict[SETTINGS]
    live = request.config_dict[LIVE]
    staff = request[STAFF]
    ref = ticket.public_id
    if not settings.mail.enabled:
        return redirect(f"/helpdesk/vraag/{ref}", "mail_uit")
    form = await read_form(request)
    action, text, key, close = _form_values(form)
    keep: dict[str, Any] = {"mail_text": text, "mail_key": key, "mail_close": close}
    if action == "invoegen":
        chosen = form.get("standaard")
        canned = {str(c.id): c.text for c in await live.run(live.tickets.canned_replies)}
        if isinstance(chosen, str) and chosen in canned:
            keep["mail_text"] = (text + "\n\n" + canned[chosen]).strip()[:ANSWER_MAX]
        return await _page(request, ticket, focus_mail=True, **keep)
    if not text:
        return await _page(request, ticket, 400, notice="leeg", **keep)
    if len(text) > ANSWER_MAX:
        return await _page(request, ticket, 400, notice="te_lang", **keep)
    try:
        if action == "voorbeeld":
            preview, to = await live.run(
                live.tickets.preview_answer, ticket, staff, text, helpdesk=settings.mail.helpdesk_name
            )
            return await _page(request, ticket, preview=preview, preview_to=to, **keep)
        _mail, _new = await live.answer_by_mail(
            ticket,
            staff,
            text,
            key,
            close=close,
            helpdesk=settings.mail.helpdesk_name,
            sender=settings.mail.sender,
        )
    except NoEmailContact:
        return await _page(request, ticket, 409, notice="mail_geen_adres", **keep)
    except ValueError:  # nothing left once control characters are dropped
        return await _page(request, ticket, 400, notice="leeg", **keep)
    except (errors.PermissionDenied, errors.UnknownStaff) as exc:
        return forbidden(request, str(exc))
    except (errors.HandoffError, states.InvalidTransition) as exc:
        return _handoff_error(request, ref, exc)
    request.config_dict[MAILER].wake()
    return redirect(f"/helpdesk/vraag/{ref}", "mail_wacht_afgerond" if close else "mail_wacht")


@staff_page(post=True)
@with_ticket
async def mail_retry_post(request: web.Request, ticket: TicketView) -> web.StreamResponse:
    """Try a failed mail again (from the ticket's history)."""
    live = request.config_dict[LIVE]
    raw = request.match_info.get("mail", "")
    mail = await live.run(live.tickets.mail, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if mail is None or mail.ticket_id != ticket.id:
        return redirect(f"/helpdesk/vraag/{ticket.public_id}", "kan_niet")
    try:
        retried = await live.run(live.tickets.retry_mail, mail.id, request[STAFF])
    except (errors.PermissionDenied, errors.UnknownStaff) as exc:
        return forbidden(request, str(exc))
    if retried:
        request.config_dict[MAILER].wake()
        await live.ticket_changed(ticket.id)
    return redirect(f"/helpdesk/vraag/{ticket.public_id}", "mail_wacht" if retried else "kan_niet")
