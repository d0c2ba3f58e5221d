"""Questions about the application whose status was just shown: "hoeveel hebben we gekregen?",
"wanneer krijgen we het geld?", "is er al een besluit?", "wat is de volgende stap?".

The answer comes from that status alone (kept as a small snapshot in the conversation's slot
``status_gegevens`` for this session), never from the regeling's general facts: the amount the
back office registered, its status, its next step and date. What the status does not hold is
said to be not known, and the helpdesk is offered. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.reply import HANDOFF_BUTTON, Reply
from bot.status import statuses
from bot.status.render import format_amount, format_date
from bot.status.service import ApplicationView
from bot.texts import STATUS_FOLLOWUP

AMOUNT, PAYMENT, DECISION, NEXT = "bedrag", "betaling", "besluit", "vervolg"
#: Statuses before any decision.
UNDECIDED = frozenset({"ontvangen", "in_behandeling", "aanvulling_nodig"})
GRANTED = frozenset({"besluit_toegekend", "besluit_deels_toegekend"})
#: What the NLU's intent says about the topic, when the words do not.
TOPIC_OF_INTENT = {
    "faq_betaling": PAYMENT,
    "faq_bedrag_gemeente": AMOUNT,
    "faq_budget_totaal": AMOUNT,
    "faq_toekenning": DECISION,
    "faq_verantwoording": NEXT,
    "faq_deadline": NEXT,
}

_PAYMENT = re.compile(
    r"betaal|betaling|uitbetaa|overgemaakt|overmaken|gestort|voorschot|"
    r"rekening|binnen|geld\s+(?:komt|krijgen|ontvangen)|"
    r"wanneer\b.*\b(?:geld|krijgen|ontvangen)"
)
_AMOUNT = re.compile(
    r"hoeveel|bedrag|euro|gekregen|toegekend\s+bedrag|aangevraagd|minder|"
    r"how much|amount"
)
_DECISION = re.compile(
    r"besluit|beslis|besloten|afgewez|afwijz|toegekend|toekenning|beschikking|"
    r"waarom|decision"
)
_NEXT = re.compile(r"volgende stap|wat nu|gebeurt er|horen we|hoe lang|vaststell|next")


def mentions_topic(text: str) -> bool:
    """The words ask about an amount, a payment, a decision or the next step."""
    low = " ".join((text or "").lower().split())
    return any(r.search(low) for r in (_PAYMENT, _AMOUNT, _DECISION, _NEXT))


def snapshot(app: ApplicationView) -> dict[str, Any]:
    """What a later question may be answered from, as plain JSON for the slot."""
    status = statuses.find(app.status)
    total = app.requested_total_cents
    return {
        "number": app.aanvraagnummer,
        "status": app.status,
        "label": status.label if status else app.status,
        "granted": format_amount(app.granted_amount_cents) if app.granted_amount_cents is not None else None,
        "requested": format_amount(total) if total is not None else None,
        "since": format_date(app.status_since) if app.status_since else None,
        "next_step": app.next_step or None,
        "next_date": format_date(app.next_step_date) if app.next_step_date else None,
        "demo": bool(app.demo),
    }


def topic(text: str, intent: str = "") -> str:
    """Which of the four the question is about; the intent decides when the words do not."""
    low = " ".join((text or "").lower().split())
    if _PAYMENT.search(low) and not re.search(r"\bhoeveel\b", low):
        return PAYMENT
    if _AMOUNT.search(low):
        return AMOUNT
    if _DECISION.search(low):
        return DECISION
    if _NEXT.search(low):
        return NEXT
    return TOPIC_OF_INTENT.get(intent, NEXT)


def say(key: str, /, **values: object) -> str:
    return STATUS_FOLLOWUP[key].format(**values)


def _since(shown: dict[str, Any]) -> str:
    return say("since", date=shown["since"]) if shown.get("since") else ""


def _next(shown: dict[str, Any]) -> str:
    step, date = shown.get("next_step"), shown.get("next_date")
    if step and date:
        return say("next_step_on", step=step, date=date)
    if step:
        return say("next_step", step=step)
    if date:
        return say("next_on", date=date)
    return ""


def _amount(shown: dict[str, Any], code: str, v: dict[str, Any]) -> tuple[str, bool]:
    requested = shown.get("requested")
    if shown.get("granted"):
        text = say("granted", amount=shown["granted"], **v)
        if requested and requested != shown["granted"]:
            text += say("requested_was", amount=requested)
        return text, True
    if code in UNDECIDED:
        text = say("no_decision", **v) + say("no_amount_yet")
        return text + (say("requested_is", amount=requested) if requested else ""), True
    if code == "besluit_afgewezen":
        return say("rejected", **v), True
    if code == "ingetrokken":
        return say("withdrawn", **v), True
    return say("amount_unknown", **v), False


def _payment(shown: dict[str, Any], code: str, v: dict[str, Any]) -> tuple[str, bool]:
    since = _since(shown)
    if code == "uitbetaald":
        return say("paid", since=since, **v), True
    if code == "bevoorschot":
        return say("advance", since=since, **v) + _next(shown), False
    if code == "vastgesteld":
        return say("settled", since=since, **v), False
    if code in GRANTED:
        return say("not_paid_yet", **v) + _next(shown), False
    if code == "besluit_afgewezen":
        return say("rejected_no_payment", **v), True
    if code == "ingetrokken":
        return say("withdrawn", **v), True
    return say("no_decision", **v) + say("no_payment") + _next(shown), False


def _decision(shown: dict[str, Any], code: str, v: dict[str, Any]) -> tuple[str, bool]:
    status = statuses.find(code)
    if status is not None and status.group == "besluit":
        text = say("decided", since=_since(shown), **v)
        if code != "besluit_toegekend":
            text += say("decided_why")
        return text, True
    if code == "ingetrokken":
        return say("withdrawn", **v), True
    if code == "wijziging_in_behandeling":
        return _following(shown, code, v)
    if code in UNDECIDED:
        nxt = _next(shown)
        return say("no_decision", **v) + (nxt or say("decision_when_unknown")), bool(nxt)
    return say("past_decision", since=_since(shown), **v), True


def _following(shown: dict[str, Any], code: str, v: dict[str, Any]) -> tuple[str, bool]:
    status = statuses.find(code)
    general = status.next_step if status else ""
    nxt = _next(shown)
    text = say("next_general", next_step=general, **v).strip()
    return text + (nxt or say("next_when_unknown")), bool(nxt)


ANSWERS = {AMOUNT: _amount, PAYMENT: _payment, DECISION: _decision, NEXT: _following}


def answer(shown: dict[str, Any] | None, text: str, intent: str = "", unknown_offer: str = "") -> Reply | None:
    """The reply from the status ``shown`` (a :func:`snapshot`), or None without one. Where the
    status does not tell, the reply says so and ``unknown_offer`` (the helpdesk) follows."""
    if not isinstance(shown, dict) or not shown.get("number") or not shown.get("status"):
        return None
    code = shown["status"]
    values = {"number": shown["number"], "label": shown.get("label") or code}
    body, known = ANSWERS[topic(text, intent)](shown, code, values)
    if shown.get("demo"):
        body += say("demo")
    if not known and unknown_offer:
        body = f"{body}\n\n{unknown_offer}"
    return Reply(body, (HANDOFF_BUTTON,))
