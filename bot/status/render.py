"""Dutch replies (B1, je/jij) for status lookups. Pure functions: no I/O, no database.

``render_result(result)`` gives a :class:`bot.core.reply.Reply` (text + buttons) for every kind
of ``service.LookupResult``; the action sends it with ``dispatcher.utter_message(**reply.message())``.
The words are named templates in bot/texts.py (``STATUS_REPLY``); this module picks and fills them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

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
from bot.texts import (
    MONTHS as _MONTHS,
)
from bot.texts import (
    STATUS_DEMO_LIST_NOTE as DEMO_LIST_NOTE,
)
from bot.texts import (
    STATUS_DEMO_NOTE as DEMO_NOTE,
)
from bot.texts import (
    STATUS_MISSING_ITEMS_BUTTON as BUTTON_MISSING_ITEMS,
)
from bot.texts import (
    STATUS_REPLY,
)

#: Button payloads (Rasa intents). The domain must define these intents.
PAYLOAD_MISSING_ITEMS = "/status_aanvulling"
MAX_LIST_BUTTONS = 5

HANDOFF = HANDOFF_BUTTON
MISSING_ITEMS = Button(BUTTON_MISSING_ITEMS, PAYLOAD_MISSING_ITEMS)


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def say(key: str, /, **values: object) -> str:
    """The named template ``key`` of :data:`bot.texts.STATUS_REPLY`, filled in."""
    return STATUS_REPLY[key].format(**values)


def format_amount(cents: int | None) -> str:
    """``125000000`` → ``€ 1.250.000``; with cents ``€ 1.250.000,50``."""
    if cents is None:
        return say("unknown_value")
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", ".")
    if rest:
        text += f",{rest:02d}"
    return f"€ {sign}{text}"


def format_date(value: dt.date | None) -> str:
    """``2025-03-14`` → ``14 maart 2025``. A datetime is naive UTC and shown in local time."""
    if value is None:
        return say("unknown_value")
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
    if app.gebied:
        where = say("where_area", gemeente=app.gemeente, gebied=app.gebied)
    else:
        where = say("where", gemeente=app.gemeente)
    lines = [DEMO_NOTE, ""] if app.demo else []
    lines.append(say("application", number=app.aanvraagnummer, where=where))
    label = status.label if status else app.status
    if app.status_since:
        lines.append(say("status_since", label=label, since=format_date(app.status_since)))
    else:
        lines.append(say("status", label=label))
    if status:
        lines += ["", say("meaning_heading"), status.explanation]
    if app.status == statuses.AANVULLING_NODIG and app.missing_items:
        lines += ["", say("missing_heading"), app.missing_items]
    lines += ["", say("next_heading")]
    if status:
        lines.append(status.next_step)
    if app.next_step and app.next_step_date:
        lines.append(say("next_step_on", step=app.next_step, date=format_date(app.next_step_date)))
    elif app.next_step:
        lines.append(say("next_step", step=app.next_step))
    elif app.next_step_date:
        lines.append(say("next_on", date=format_date(app.next_step_date)))
    facts = []
    if app.submitted_at:
        facts.append(say("submitted", date=format_date(app.submitted_at)))
    total = app.requested_total_cents
    if total is not None:
        facts.append(say("requested", amount=format_amount(total)))
        if len(app.requested) > 1:
            facts += [
                say("requested_part", thema=r.thema, jaar=r.jaar, amount=format_amount(r.amount_cents))
                for r in app.requested
            ]
    if app.granted_amount_cents is not None:
        facts.append(say("granted", amount=format_amount(app.granted_amount_cents)))
    if facts:
        lines += ["", *facts]
    buttons: list[Button] = []
    if app.status == statuses.AANVULLING_NODIG:
        buttons.append(MISSING_ITEMS)
    buttons.append(HANDOFF)
    return Reply("\n".join(lines).strip(), tuple(buttons))


def render_missing_items(app: ApplicationView) -> Reply:
    """Answer to "Wat moet ik aanleveren?" for an application already shown."""
    if app.status != statuses.AANVULLING_NODIG or not app.missing_items:
        return Reply(say("nothing_missing", number=app.aanvraagnummer, label=_status_label(app.status)), (HANDOFF,))
    status = statuses.get(statuses.AANVULLING_NODIG)
    text = say("missing", number=app.aanvraagnummer, items=app.missing_items, next_step=status.next_step)
    if app.demo:
        text = f"{DEMO_NOTE}\n\n{text}"
    if app.next_step_date:
        text += "\n" + say("next_on", date=format_date(app.next_step_date))
    return Reply(text, (HANDOFF,))


def render_not_found(*, portal: bool = False, gemeente: str | None = None) -> Reply:
    """The same words for an unknown number and a wrong code (no enumeration)."""
    if portal:
        where = say("not_found_portal_where", gemeente=gemeente) if gemeente else ""
        return Reply(say("not_found_portal", where=where), (HANDOFF,))
    return Reply(say("not_found"), (HANDOFF,))


def render_locked(retry_after_s: int | None = None) -> Reply:
    if retry_after_s:
        minutes = max(1, -(-int(retry_after_s) // 60))
        wait = say("wait_minute") if minutes == 1 else say("wait_minutes", n=minutes)
        if minutes >= 90:
            hours = round(minutes / 60)
            wait = say("wait_hour") if hours == 1 else say("wait_hours", n=hours)
    else:
        wait = say("wait_later")
    return Reply(say("locked", wait=wait), (HANDOFF,))


def render_unavailable() -> Reply:
    return Reply(say("unavailable"), (HANDOFF,))


def render_list(gemeente: str | None, apps: Sequence[ApplicationView]) -> Reply:
    name = apps[0].gemeente if apps else gemeente
    who = say("list_who", name=name) if name else say("list_who_unknown")
    if not apps:
        return Reply(say("list_none", who=who), (HANDOFF,))
    count = say("list_count_one") if len(apps) == 1 else say("list_count", n=len(apps))
    lines = [say("list_head", who=who, count=count)]
    for app in apps:
        line = f"- {app.aanvraagnummer}"
        if app.gebied:
            line += f" ({app.gebied})"
        line += f": {_status_label(app.status)}"
        if app.demo:
            line += say("list_demo")
        lines.append(line)
    if any(app.demo for app in apps):
        lines += ["", DEMO_LIST_NOTE]
    lines += ["", say("list_pick")]
    buttons = [
        Button(app.aanvraagnummer, "/inform_aanvraagnummer" + json.dumps({"aanvraagnummer": app.aanvraagnummer}))
        for app in apps[:MAX_LIST_BUTTONS]
    ]
    buttons.append(HANDOFF)
    return Reply("\n".join(lines), tuple(buttons))


def render_result(result: LookupResult, *, portal: bool = False, gemeente: str | None = None) -> Reply:
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
