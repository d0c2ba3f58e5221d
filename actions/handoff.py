"""Handoff to a person: consent, the question in one sentence, optional contact, then a ticket.

The ticket, its states and the opening hours live in bot.handoff, and so does what the user's
words mean here (bot/handoff/wording.py: a plain yes, a no, withdrawing); the web gateway routes
the paused conversation to the helpdesk console and resumes it when staff hand it back.
"""

import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    FollowupAction,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    KwAction,
    answer_detour,
    answer_instead,
    latest_intent,
    latest_text,
    portal_gemeente,
    utter,
)
from bot import texts
from bot.core.reply import HANDOFF_BUTTON, WITHDRAW_BUTTON, Button, Reply, sources_of
from bot.core.runner import run_db
from bot.handoff import hours, states
from bot.handoff.service import HandoffService, TicketView
from bot.handoff.wording import (
    NO_CONTACT,
    NO_QUESTION_INTENTS,
    NO_WORDS,
    NOT_A_QUESTION,
    UNSURE,
    YES_WORDS,
    clear_yes,
    explicit_withdrawal,
    has_contact,
    plain,
    refers_back,
    usable_contact,
    vague_withdrawal,
)
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import helpdesk_reply
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

SLOTS = ("handoff_toestemming", "handoff_vraag", "handoff_contact")
RESET = [SlotSet(name, None) for name in SLOTS]
MAX_QUESTION_CHARS = 500
TRANSCRIPT_TURNS = 40


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """The conversation so far, as the helpdesk should see it (already masked by the gateway).
    An answer's sources are written out after it, for staff reading the stored transcript."""
    lines = []
    for event in tracker.events:
        kind = event.get("event")
        text = (event.get("text") or "").strip()
        if kind not in ("user", "bot") or not text:
            continue
        found = sources_of((event.get("data") or {}).get("custom")) if kind == "bot" else None
        if found:
            text += "\n\nBron: " + "; ".join(f"{s['title']} ({s['url']})" for s in found["sources"])
        at = dt.datetime.fromtimestamp(event.get("timestamp") or 0, tz=dt.UTC)
        lines.append({"sender": "gebruiker" if kind == "user" else "assistent", "text": text, "at": at})
    return lines[-TRANSCRIPT_TURNS:]


#: Intents that leave the handoff form at any step, without a ticket.
LEAVE = ("stop", "handoff_intrekken")


def ask_to_withdraw(dispatcher: CollectingDispatcher) -> None:
    """ "Wil je je vraag intrekken?" with both answers as buttons; a "ja" to it withdraws
    (actions/dialogue.py, ActionAffirm)."""
    keep = Button(texts.STOP_KEEP_BUTTON, "/deny")
    utter(dispatcher, Reply(texts.STOP_WITHDRAW_CONFIRM, (WITHDRAW_BUTTON, keep), about_handoff=True))


async def withdraw_ticket(dispatcher: CollectingDispatcher, ticket: TicketView, settings: Settings) -> None:
    """Close the waiting question on the user's word; the console shows why."""
    service = HandoffService.from_settings(settings)

    def withdraw() -> None:
        service.close(ticket, "gebruiker", reason=texts.TEXT_WITHDRAWN_REASON)
        service.add_message(ticket, "systeem", None, texts.TEXT_WITHDRAWN_REASON, mask=False)

    try:
        await run_db(withdraw, settings.db_timeout_s * 2)
    except Exception as exc:  # e.g. a medewerker took it at this moment
        log.warning("ticket not withdrawn (%s)", type(exc).__name__)
        utter(dispatcher, Reply(texts.HANDOFF_IN_PROGRESS, about_handoff=True))
        return
    utter(dispatcher, Reply(texts.HANDOFF_WITHDRAWN, about_handoff=True))


async def withdraw_in_other_words(dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings) -> bool:
    """Withdrawal in other words, whatever intent the NLU gave it (stop, deny, not understood):
    with a question waiting, explicit words withdraw it and vaguer ones ("hoeft niet meer, ik
    weet het al") ask first. False (nothing said) when it is no withdrawal or nothing waits."""
    text = latest_text(tracker)
    explicit = explicit_withdrawal(text)
    if not explicit and not vague_withdrawal(text):
        return False
    ticket = await waiting_ticket(tracker, settings)
    if ticket is None or ticket.state != states.WACHTRIJ:
        return False
    if explicit:
        await withdraw_ticket(dispatcher, ticket, settings)
    else:
        ask_to_withdraw(dispatcher)
    return True


def _intent_of(event: dict[str, Any]) -> str:
    return (((event.get("parse_data") or {}).get("intent") or {}).get("name")) or ""


def previous_question(tracker: Tracker) -> str | None:
    """The user's last real question before this message (masked by the gateway), or None."""
    users = [e for e in tracker.events if e.get("event") == "user"][:-1]
    for event in reversed(users):
        text = " ".join((event.get("text") or "").split())
        if (
            len(text) >= 3
            and not text.startswith("/")
            and _intent_of(event) not in NO_QUESTION_INTENTS
            and plain(text) not in NOT_A_QUESTION
            and not refers_back(text)
        ):
            return text
    return None


def _is_no(event: dict[str, Any]) -> bool:
    return _intent_of(event) == "deny" or plain(event.get("text") or "") in NO_WORDS


def nos_at_question_step(tracker: Tracker) -> int:
    """How many "nee"s in a row the user gave at the question step (the consent's "nee" before
    it does not count)."""
    events = tracker.events
    asked, start = None, 0
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if e.get("event") == "slot" and e.get("name") == "requested_slot":
            if e.get("value") != "handoff_vraag":
                start = i + 1
                break
            asked = i  # the question step began here, or earlier
        elif e.get("event") == "active_loop" and e.get("name") == "handoff_form":
            start = i
            break
    start = asked if asked is not None else start
    count = 0
    for event in reversed([e for e in events[start:] if e.get("event") == "user"]):
        if not _is_no(event):
            break
        count += 1
    return count


class ValidateHandoffForm(FormValidationAction):
    """Consent (yes: share the conversation; no: a ticket without it), the question, and an
    optional contact that must be an e-mail address or phone number. Stop or withdraw ends it
    at any step; a question about the step gets an explanation and the step again."""

    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("requested_slot") is None and await waiting_ticket(tracker, get_settings()):
            return []  # a question already waits: action_handoff_create says so
        return list(SLOTS)

    def validate_handoff_toestemming(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent, text = latest_intent(tracker), latest_text(tracker)
        if intent == "human_handoff" or plain(text) in YES_WORDS or (intent == "affirm" and clear_yes(text)):
            return {"handoff_toestemming": True}
        if any(doubt in plain(text) for doubt in UNSURE):
            dispatcher.utter_message(text=texts.HANDOFF_CONSENT_UNCLEAR)
            return {"handoff_toestemming": None}
        if intent == "deny":
            dispatcher.utter_message(text=texts.HANDOFF_NO_TRANSCRIPT)
            return {"handoff_toestemming": False}
        if intent in LEAVE:
            return {"handoff_toestemming": None, "requested_slot": None}
        if intent == "affirm":
            dispatcher.utter_message(text=texts.HANDOFF_ASK_FIRST)
        elif intent == "vraag_uitleg":
            dispatcher.utter_message(text=texts.HANDOFF_CONSENT_EXPLAIN)
        elif not answer_detour(dispatcher, tracker):
            dispatcher.utter_message(text=texts.HANDOFF_CONSENT_UNCLEAR)
        return {"handoff_toestemming": None}

    def validate_handoff_vraag(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        if intent in LEAVE:
            return {"handoff_vraag": None, "requested_slot": None}
        text = " ".join(str(value or "").split())
        if refers_back(text):
            previous = previous_question(tracker)
            if previous:
                question = previous[:MAX_QUESTION_CHARS]
                dispatcher.utter_message(text=texts.HANDOFF_PREVIOUS_QUESTION.format(question=question))
                return {"handoff_vraag": question}
            dispatcher.utter_message(text=texts.HANDOFF_WHICH_QUESTION)
            return {"handoff_vraag": None}
        if nos_at_question_step(tracker) >= 2:
            # The second "nee" in a row: no question is coming. action_handoff_create says
            # politely that nobody is called in.
            return {"handoff_vraag": None, "requested_slot": None}
        if intent in NO_QUESTION_INTENTS or plain(text) in NOT_A_QUESTION or len(text) < 3:
            dispatcher.utter_message(text=texts.HANDOFF_QUESTION_NEEDED)
            return {"handoff_vraag": None}
        return {"handoff_vraag": text[:MAX_QUESTION_CHARS]}

    def validate_handoff_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        text = " ".join(str(value or "").split())
        # A contact in the sentence wins over how the NLU read the rest ("stuur maar een mail
        # naar …, liever geen telefoon" can come out as deny or stop); the gateway stores it.
        if has_contact(text):
            return {"handoff_contact": text[:200]}
        if intent in LEAVE:
            return {"handoff_contact": None, "requested_slot": None}
        if text.lower().strip(".!") in NO_CONTACT or intent == "deny":
            return {"handoff_contact": "-"}
        if intent == "vraag_uitleg" or "waarom" in text.lower():
            dispatcher.utter_message(text=texts.HANDOFF_CONTACT_WHY)
        else:
            dispatcher.utter_message(text=texts.HANDOFF_BAD_CONTACT)
        return {"handoff_contact": None}


async def waiting_ticket(tracker: Tracker, settings: Settings) -> TicketView | None:
    """The conversation's active helpdesk ticket, or None (also when the database is down)."""
    service = HandoffService.from_settings(settings)
    try:
        return await run_db(lambda: service.active_ticket_for_conversation(tracker.sender_id), settings.db_timeout_s)
    except Exception as exc:  # no database: as if there were none
        log.warning("ticket check failed (%s)", type(exc).__name__)
        return None


def waiting_text(settings: Settings) -> str:
    """When a waiting question will be answered: now (open) or from the next opening."""
    return hours.closed_message(settings) or texts.HANDOFF_STILL_WAITING


class ActionHandoffCreate(KwAction):
    """The form is done: create the ticket, or explain why not."""

    NAME = "action_handoff_create"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        kb = get_knowledge_base()
        settings = self.settings
        consent = tracker.get_slot("handoff_toestemming")
        question = tracker.get_slot("handoff_vraag")
        left = latest_intent(tracker) in LEAVE
        if left or consent is None or not question:
            waiting = await waiting_ticket(tracker, settings)
            if waiting is not None and not left:
                utter(
                    dispatcher,
                    Reply(
                        texts.HANDOFF_ALREADY_WAITING.format(waiting=waiting_text(settings)),
                        (WITHDRAW_BUTTON,),
                        about_handoff=True,
                    ),
                )
            elif latest_intent(tracker).startswith("faq_"):
                answer_instead(dispatcher, tracker)  # they asked something else instead
            else:
                dispatcher.utter_message(text=texts.HANDOFF_STOPPED)
            return RESET
        # Through the gateway a typed e-mail address or phone number arrives masked; the
        # gateway then stores it on the ticket itself (HandoffService.set_contact).
        contact = usable_contact(tracker.get_slot("handoff_contact"))
        # Typed in a sentence, the contact reaches Rasa masked; the gateway stores it.
        contact_given = bool(contact) or has_contact(tracker.get_slot("handoff_contact") or "-")
        service = HandoffService.from_settings(settings)
        shared = transcript(tracker) if consent else []
        consent_at = dt.datetime.now(dt.UTC) if consent else None
        try:
            await run_db(
                lambda: service.create_ticket(
                    tracker.sender_id, question, contact, portal_gemeente(tracker), shared, consent_at=consent_at
                ),
                settings.db_timeout_s * 2,
            )
        except Exception as exc:  # any failure: tell the user, keep the bot
            log.warning("handoff ticket not created (%s)", type(exc).__name__)
            reply = helpdesk_reply(kb, texts.HANDOFF_FAILED)
            utter(dispatcher, reply)
            return RESET
        closed = hours.closed_message(settings)
        if closed:
            text = texts.HANDOFF_WAITING_CLOSED.format(
                closed=closed, contact=texts.HANDOFF_WAITING_CLOSED_CONTACT if contact_given else "."
            )
        else:
            text = texts.HANDOFF_WAITING
        # The assistant keeps answering while the question waits; Rasa pauses only when a
        # medewerker takes the conversation over (bot/handoff/live.py).
        utter(dispatcher, Reply(text, (WITHDRAW_BUTTON,), about_handoff=True))
        return RESET


class ActionHandoffStatus(KwAction):
    """ "Is er al iemand?": where the conversation's helpdesk question stands."""

    NAME = "action_handoff_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        ticket = await waiting_ticket(tracker, self.settings)
        if ticket is None:
            utter(dispatcher, Reply(texts.HANDOFF_NONE_OPEN, (HANDOFF_BUTTON,), about_handoff=True))
        elif ticket.state == states.WACHTRIJ:
            utter(dispatcher, Reply(waiting_text(self.settings), (WITHDRAW_BUTTON,), about_handoff=True))
        else:
            utter(dispatcher, Reply(texts.HANDOFF_IN_PROGRESS, about_handoff=True))
        return []


class ActionHandoffWithdraw(KwAction):
    """ "Vraag intrekken": the waiting question is closed; the console shows why."""

    NAME = "action_handoff_withdraw"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        settings = self.settings
        ticket = await waiting_ticket(tracker, settings)
        if ticket is None:
            dispatcher.utter_message(text=texts.HANDOFF_NONE_OPEN)
            return []
        text = latest_text(tracker)
        vague = "?" in text or bool(vague_withdrawal(text))
        if (
            ticket.state == states.WACHTRIJ
            and vague
            and not explicit_withdrawal(text)
            and latest_intent(tracker) != "affirm"
        ):
            # "hoeft niet meer, ik weet het al" or "kan ik mijn vraag intrekken?": first ask;
            # "ja" to that comes back here as an affirm (ActionAffirm). "ik hoef geen
            # medewerker meer" withdraws.
            ask_to_withdraw(dispatcher)
            return []
        await withdraw_ticket(dispatcher, ticket, settings)
        # The turn ends here, also when a "ja" got here as a follow-up of action_affirm (the
        # policies would otherwise go on predicting for that "ja").
        return [FollowupAction("action_listen")]


def carried_over(tracker: Tracker, expiration_min: float, now: float | None = None) -> list[dict[str, Any]]:
    """What a new session keeps: every slot and an active form when the last session did not
    expire (Rasa starts a new one after ``KW_SESSION_MAX_TURNS`` user turns,
    rasa_runtime/serve.py, so the tracker stays short); nothing after an hour of silence or in
    a new conversation."""
    last = next((e for e in reversed(tracker.events) if e.get("event") == "user"), None)
    if last is None or not expiration_min:
        return []
    if (now if now is not None else time.time()) - float(last.get("timestamp") or 0) > expiration_min * 60:
        return []
    carried = [
        SlotSet(name, value)
        for name, value in tracker.slots.items()
        if value is not None and name != "session_started_metadata"
    ]
    loop = (tracker.active_loop or {}).get("name")
    if loop:
        carried.append(ActiveLoop(loop))  # a form in progress goes on where it was
    return carried


def _session_minutes(domain: Mapping[str, Any]) -> float:
    """domain.yml's session_expiration_time (minutes; 0 when none is set)."""
    return float((domain.get("session_config") or {}).get("session_expiration_time") or 0)


class ActionSessionStart(KwAction):
    """A new Rasa session (after an hour of silence) stays paused while a medewerker has this
    conversation's helpdesk ticket: the helpdesk, not the assistant, answers it. A session that
    only rolled over because it grew long keeps the conversation's slots."""

    NAME = "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        events = await self.act(dispatcher, tracker)
        minutes = _session_minutes(domain)
        # After SessionStarted, which clears every slot.
        return events[:1] + carried_over(tracker, minutes) + events[1:]

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        settings = self.settings
        service = HandoffService.from_settings(settings)
        try:
            open_ticket = await run_db(
                lambda: service.active_ticket_for_conversation(tracker.sender_id), settings.db_timeout_s
            )
        except Exception as exc:  # no database: the assistant answers
            log.warning("session start: ticket check failed (%s)", type(exc).__name__)
            open_ticket = None
        if open_ticket is not None and open_ticket.state in states.ASSIGNED_STATES:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events
