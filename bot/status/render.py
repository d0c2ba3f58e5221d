"""Dutch replies (B1, je/jij) for status lookups. Pure functions: no I/O, no database.

``render_result(result)`` gives a :class:`bot.core.reply.Reply` (text + buttons) for every kind
of ``service.LookupResult``; the action sends it with ``dispatcher.utter_message(**reply.message())``.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import List, Optional, Sequence

from bot.core.reply import HANDOFF_BUTTON, Button, Reply
from bot.status import statuses
from bot.status.models import LOCAL_TZ, to_local
from bot.status.service import (
    LOCKED,
    NOT_FOUND,
    OK,
    UNAVAILABLE,
    ApplicationView,
    LookupResult,
)

#: Button payloads (Rasa intents). The domain must define these intents.
PAYLOAD_MISSING_ITEMS = "/status_aanvulling"
BUTTON_MISSING_ITEMS = "Wat moet ik aanleveren?"
MAX_LIST_BUTTONS = 5
#: Said with every demo application, so fictional amounts and dates are never taken as facts.
DEMO_NOTE = ("Let op: dit is een fictieve demo-aanvraag. Het nummer, de bedragen, de data en de "
             "status zijn verzonnen en zeggen niets over de echte verdeling van het geld.")
DEMO_LIST_NOTE = ("Let op: demo-aanvragen zijn fictief. Hun nummers, bedragen, data en status zijn "
                  "verzonnen en zeggen niets over de echte verdeling van het geld.")

_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
    "oktober", "november", "december",
)


HANDOFF = HANDOFF_BUTTON
MISSING_ITEMS = Button(BUTTON_MISSING_ITEMS, PAYLOAD_MISSING_ITEMS)


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------

def format_amount(cents: Optional[int]) -> str:
    """``125000000`` → ``€ 1.250.000``; with cents ``€ 1.250.000,50``."""
    if cents is None:
        return "onbekend"
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", ".")
    if rest:
        text += f",{rest:02d}"
    return f"€ {sign}{text}"


def format_date(value: Optional[dt.date]) -> str:
    """``2025-03-14`` → ``14 maart 2025``. A datetime is naive UTC and shown in local time."""
    if value is None:
        return "onbekend"
    if isinstance(value, dt.datetime):
        value = to_local(value, LOCAL_TZ).date()
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _status_label(code: str) -> str:
    found = statuses.find(code)
    return found.label if found else code


# ---------------------------------------------------------------------------------------------
# Replies
# ---------------------------------------------------------------------------------------------

def render_application(app: ApplicationView) -> Reply:
    status = statuses.find(app.status)
    where = f"gemeente {app.gemeente}"
    if app.gebied:
        where += f", gebied {app.gebied}"
    lines = [DEMO_NOTE, ""] if app.demo else []
    lines.append(f"Aanvraag {app.aanvraagnummer} ({where})")
    label = status.label if status else app.status
    since = f" (sinds {format_date(app.status_since)})" if app.status_since else ""
    lines.append(f"Status: {label}{since}")
    if status:
        lines += ["", "Wat betekent dit?", status.explanation]
    if app.status == statuses.AANVULLING_NODIG and app.missing_items:
        lines += ["", "Wat ontbreekt er?", app.missing_items]
    lines += ["", "Wat gebeurt er nu?"]
    if status:
        lines.append(status.next_step)
    if app.next_step and app.next_step_date:
        lines.append(f"Volgende stap: {app.next_step} (verwacht op {format_date(app.next_step_date)}).")
    elif app.next_step:
        lines.append(f"Volgende stap: {app.next_step}.")
    elif app.next_step_date:
        lines.append(f"De volgende stap wordt verwacht op {format_date(app.next_step_date)}.")
    facts = []
    if app.submitted_at:
        facts.append(f"Ingediend op {format_date(app.submitted_at)}.")
    total = app.requested_total_cents
    if total is not None:
        facts.append(f"Aangevraagd: {format_amount(total)}.")
        if len(app.requested) > 1:
            facts += [
                f"- {r.thema} {r.jaar}: {format_amount(r.amount_cents)}" for r in app.requested
            ]
    if app.granted_amount_cents is not None:
        facts.append(f"Toegekend: {format_amount(app.granted_amount_cents)}.")
    if facts:
        lines += [""] + facts
    buttons: List[Button] = []
    if app.status == statuses.AANVULLING_NODIG:
        buttons.append(MISSING_ITEMS)
    buttons.append(HANDOFF)
    return Reply("\n".join(lines).strip(), tuple(buttons))


def render_missing_items(app: ApplicationView) -> Reply:
    """Answer to "Wat moet ik aanleveren?" for an application already shown."""
    if app.status != statuses.AANVULLING_NODIG or not app.missing_items:
        return Reply(
            f"Voor aanvraag {app.aanvraagnummer} hoef je nu niets aan te leveren. "
            f"De status is: {_status_label(app.status)}.",
            (HANDOFF,),
        )
    status = statuses.get(statuses.AANVULLING_NODIG)
    text = (
        f"Voor aanvraag {app.aanvraagnummer} ontbreekt nog:\n{app.missing_items}\n\n"
        f"{status.next_step}"
    )
    if app.demo:
        text = f"{DEMO_NOTE}\n\n{text}"
    if app.next_step_date:
        text += f"\nDe volgende stap wordt verwacht op {format_date(app.next_step_date)}."
    return Reply(text, (HANDOFF,))


def render_not_found(*, portal: bool = False, gemeente: Optional[str] = None) -> Reply:
    """The same words for an unknown number and a wrong code (no enumeration)."""
    if portal:
        where = f" voor gemeente {gemeente}" if gemeente else ""
        return Reply(
            f"Ik kan geen aanvraag vinden met dit nummer{where}. "
            "Controleer het aanvraagnummer. Het ziet eruit als KW-2025-0042.",
            (HANDOFF,),
        )
    return Reply(
        "Ik kan geen aanvraag vinden met dit nummer en deze code. "
        "Controleer het aanvraagnummer (het ziet eruit als KW-2025-0042) en de "
        "verificatiecode die je van onze backoffice kreeg. Probeer het daarna opnieuw.",
        (HANDOFF,),
    )


def render_locked(retry_after_s: Optional[int] = None) -> Reply:
    if retry_after_s:
        minutes = max(1, -(-int(retry_after_s) // 60))
        wait = "over ongeveer 1 minuut" if minutes == 1 else f"over ongeveer {minutes} minuten"
        if minutes >= 90:
            hours = round(minutes / 60)
            wait = "over ongeveer 1 uur" if hours == 1 else f"over ongeveer {hours} uur"
    else:
        wait = "later"
    return Reply(
        "Er is te vaak een verkeerd aanvraagnummer of een verkeerde code ingevuld. "
        "Daarom kun je nu even geen status opvragen. "
        f"Probeer het {wait} opnieuw. Wil je niet wachten? Dan helpt een medewerker je.",
        (HANDOFF,),
    )


def render_unavailable() -> Reply:
    return Reply(
        "Het lukt me nu niet om de status van je aanvraag op te zoeken. Dat ligt niet aan jou. "
        "Probeer het later nog eens, of laat een medewerker van de helpdesk je helpen.",
        (HANDOFF,),
    )


def render_list(gemeente: Optional[str], apps: Sequence[ApplicationView]) -> Reply:
    name = apps[0].gemeente if apps else gemeente
    who = f"gemeente {name}" if name else "je gemeente"
    if not apps:
        return Reply(
            f"Ik zie geen aanvragen van {who}. Klopt dat niet? Dan helpt een medewerker je.",
            (HANDOFF,),
        )
    count = "1 aanvraag" if len(apps) == 1 else f"{len(apps)} aanvragen"
    lines = [f"Dit zijn de aanvragen van {who} ({count}):"]
    for app in apps:
        line = f"- {app.aanvraagnummer}"
        if app.gebied:
            line += f" ({app.gebied})"
        line += f": {_status_label(app.status)}"
        if app.demo:
            line += " (fictieve demo-aanvraag)"
        lines.append(line)
    if any(app.demo for app in apps):
        lines += ["", DEMO_LIST_NOTE]
    lines += ["", "Kies een aanvraag of typ het aanvraagnummer voor meer uitleg."]
    buttons = [
        Button(app.aanvraagnummer,
               "/inform_aanvraagnummer" + json.dumps({"aanvraagnummer": app.aanvraagnummer}))
        for app in apps[:MAX_LIST_BUTTONS]
    ]
    buttons.append(HANDOFF)
    return Reply("\n".join(lines), tuple(buttons))


def render_result(result: LookupResult, *, portal: bool = False,
                  gemeente: Optional[str] = None) -> Reply:
    """The reply for any lookup result (single application or list)."""
    if result.kind == OK:
        if result.application is not None:
            return render_application(result.application)
        return render_list(result.gemeente or gemeente, result.applications)
    if result.kind == NOT_FOUND:
        return render_not_found(portal=portal, gemeente=gemeente)
    if result.kind == LOCKED:
        return render_locked(result.retry_after_s)
    if result.kind == UNAVAILABLE:
        return render_unavailable()
    raise ValueError(f"unknown result kind {result.kind!r}")
