"""Handoff to a person: consent, the question in one sentence, optional contact, then a ticket.

The ticket, its states and the opening hours live in bot.handoff; the web gateway routes the
paused conversation to the helpdesk console and resumes it when staff hand it back.
"""
import datetime as dt
import logging
import time
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    KwAction, answer_detour, answer_instead, latest_intent, latest_text, portal_gemeente, utter,
)
from bot import texts
from bot.core.masking import EMAIL, PHONE, mask_personal_data
from bot.core.reply import HANDOFF_BUTTON, WITHDRAW_BUTTON, Reply, sources_of
from bot.handoff import hours, states
from bot.handoff.privacy import InvalidContact, normalize_contact
from bot.handoff.service import HandoffService, TicketView
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import helpdesk_reply
from bot.core.runner import run_db
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

SLOTS = ("handoff_toestemming", "handoff_vraag", "handoff_contact")
RESET = [SlotSet(name, None) for name in SLOTS]
NO_CONTACT = {"nee", "nee dank je", "nee bedankt", "geen", "liever niet", "niet nodig", "-"}
MAX_QUESTION_CHARS = 500
TRANSCRIPT_TURNS = 40


def transcript(tracker: Tracker) -> List[Dict[str, Any]]:
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
        at = dt.datetime.fromtimestamp(event.get("timestamp") or 0, tz=dt.timezone.utc)
        lines.append({"sender": "gebruiker" if kind == "user" else "assistent", "text": text, "at": at})
    return lines[-TRANSCRIPT_TURNS:]


def usable_contact(typed: Optional[str]) -> Optional[str]:
    try:
        return typed if typed and typed != "-" and normalize_contact(typed) else None
    except InvalidContact:
        return None


#: Intents that leave the handoff form at any step, without a ticket.
LEAVE = ("stop", "handoff_intrekken")
#: A plain yes, whatever the NLU made of it ("oké" is no clear affirm to the model).
YES_WORDS = frozenset({"ja", "oké", "oke", "ok", "okay", "okee", "prima", "goed", "is goed", "akkoord",
                       "ja hoor", "ja graag", "graag", "dat mag", "ja, dat mag", "mag"})
#: Doubt is not a no: the question comes again, explained.
UNSURE = ("weet ik niet", "weet niet", "geen idee", "twijfel", "misschien", "hmm")


def _plain(text: str) -> str:
    return " ".join(text.lower().strip(" .!").split())


def _clear_yes(text: str) -> bool:
    """"ja" without a "but": "ja maar eerst een vraag" is no consent yet."""
    words = text.lower().replace(",", " ").split()
    return "?" not in text and not {"maar", "eerst"} & set(words)


class ValidateHandoffForm(FormValidationAction):
    """Consent (yes: share the conversation; no: a ticket without it), the question, and an
    optional contact that must be an e-mail address or phone number. Stop or withdraw ends it
    at any step; a question about the step gets an explanation and the step again."""

    def name(self) -> Text:
        return "validate_handoff_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("requested_slot") is None and await waiting_ticket(tracker, get_settings()):
            return []  # a question already waits: action_handoff_create says so
        return list(SLOTS)

    def validate_handoff_toestemming(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent, text = latest_intent(tracker), latest_text(tracker)
        if intent == "human_handoff" or _plain(text) in YES_WORDS or (intent == "affirm" and _clear_yes(text)):
            return {"handoff_toestemming": True}
        if any(doubt in _plain(text) for doubt in UNSURE):
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

    def validate_handoff_vraag(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent = latest_intent(tracker)
        if intent in LEAVE:
            return {"handoff_vraag": None, "requested_slot": None}
        text = " ".join(str(value or "").split())
        if intent in ("deny", "affirm") or len(text) < 3:
            dispatcher.utter_message(text=texts.HANDOFF_QUESTION_NEEDED)
            return {"handoff_vraag": None}
        return {"handoff_vraag": text[:MAX_QUESTION_CHARS]}

    def validate_handoff_contact(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent = latest_intent(tracker)
        text = " ".join(str(value or "").split())
        if intent in LEAVE:
            return {"handoff_contact": None, "requested_slot": None}
        if text.lower().strip(".!") in NO_CONTACT or (intent == "deny" and not has_contact(text)):
            return {"handoff_contact": "-"}
        if has_contact(text):
            return {"handoff_contact": text[:200]}
        if intent == "vraag_uitleg" or "waarom" in text.lower():
            dispatcher.utter_message(text=texts.HANDOFF_CONTACT_WHY)
        else:
            dispatcher.utter_message(text=texts.HANDOFF_BAD_CONTACT)
        return {"handoff_contact": None}


def has_contact(text: str) -> bool:
    """An e-mail address or phone number: masked by the gateway, or as typed (Rasa's tools)."""
    if EMAIL in text or PHONE in text:
        return True
    return bool({"email", "phone"} & set(mask_personal_data(text).kinds))


async def waiting_ticket(tracker: Tracker, settings: Settings) -> Optional[TicketView]:
    """The conversation's active helpdesk ticket, or None (also when the database is down)."""
    service = HandoffService.from_settings(settings)
    try:
        return await run_db(lambda: service.active_ticket_for_conversation(tracker.sender_id),
                            settings.db_timeout_s)
    except Exception as exc:  # noqa: BLE001 - no database: as if there were none
        log.warning("ticket check failed (%s)", type(exc).__name__)
        return None


def waiting_text(settings: Settings) -> str:
    """When a waiting question will be answered: now (open) or from the next opening."""
    return hours.closed_message(settings) or texts.HANDOFF_STILL_WAITING


class ActionHandoffCreate(KwAction):
    """The form is done: create the ticket, or explain why not."""

    NAME = "action_handoff_create"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        settings = self.settings
        consent = tracker.get_slot("handoff_toestemming")
        left = latest_intent(tracker) in LEAVE
        if left or consent is None or not tracker.get_slot("handoff_vraag"):
            waiting = await waiting_ticket(tracker, settings)
            if waiting is not None and not left:
                utter(dispatcher, Reply(texts.HANDOFF_ALREADY_WAITING.format(waiting=waiting_text(settings)),
                                        (WITHDRAW_BUTTON,), about_handoff=True))
            elif latest_intent(tracker).startswith("faq_"):
                answer_instead(dispatcher, tracker)  # they asked something else instead
            else:
                dispatcher.utter_message(text=texts.HANDOFF_STOPPED)
            return RESET
        # Through the gateway a typed e-mail address or phone number arrives masked; the
        # gateway then stores it on the ticket itself (HandoffService.set_contact).
        contact = usable_contact(tracker.get_slot("handoff_contact"))
        service = HandoffService.from_settings(settings)
        shared = transcript(tracker) if consent else []
        consent_at = dt.datetime.now(dt.timezone.utc) if consent else None
        try:
            await run_db(lambda: service.create_ticket(
                tracker.sender_id, tracker.get_slot("handoff_vraag"), contact,
                portal_gemeente(tracker), shared, consent_at=consent_at), settings.db_timeout_s * 2)
        except Exception as exc:  # noqa: BLE001 - any failure: tell the user, keep the bot
            log.warning("handoff ticket not created (%s)", type(exc).__name__)
            reply = helpdesk_reply(kb, texts.HANDOFF_FAILED)
            utter(dispatcher, reply)
            return RESET
        closed = hours.closed_message(settings)
        if closed:
            text = texts.HANDOFF_WAITING_CLOSED.format(
                closed=closed, contact=texts.HANDOFF_WAITING_CLOSED_CONTACT if contact else ".")
        else:
            text = texts.HANDOFF_WAITING
        # The assistant keeps answering while the question waits; Rasa pauses only when a
        # medewerker takes the conversation over (bot/handoff/live.py).
        utter(dispatcher, Reply(text, (WITHDRAW_BUTTON,), about_handoff=True))
        return RESET


class ActionHandoffStatus(KwAction):
    """"Is er al iemand?": where the conversation's helpdesk question stands."""

    NAME = "action_handoff_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        ticket = await waiting_ticket(tracker, self.settings)
        if ticket is None:
            utter(dispatcher, Reply(texts.HANDOFF_NONE_OPEN, (HANDOFF_BUTTON,), about_handoff=True))
        elif ticket.state == states.WACHTRIJ:
            utter(dispatcher, Reply(waiting_text(self.settings), (WITHDRAW_BUTTON,), about_handoff=True))
        else:
            utter(dispatcher, Reply(texts.HANDOFF_IN_PROGRESS, about_handoff=True))
        return []


class ActionHandoffWithdraw(KwAction):
    """"Vraag intrekken": the waiting question is closed; the console shows why."""

    NAME = "action_handoff_withdraw"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        settings = self.settings
        ticket = await waiting_ticket(tracker, settings)
        if ticket is None:
            dispatcher.utter_message(text=texts.HANDOFF_NONE_OPEN)
            return []
        service = HandoffService.from_settings(settings)

        def withdraw() -> None:
            service.close(ticket, "gebruiker", reason=texts.TEXT_WITHDRAWN_REASON)
            service.add_message(ticket, "systeem", None, texts.TEXT_WITHDRAWN_REASON, mask=False)

        try:
            await run_db(withdraw, settings.db_timeout_s * 2)
        except Exception as exc:  # noqa: BLE001 - e.g. a medewerker took it at this moment
            log.warning("ticket not withdrawn (%s)", type(exc).__name__)
            utter(dispatcher, Reply(texts.HANDOFF_IN_PROGRESS, about_handoff=True))
            return []
        utter(dispatcher, Reply(texts.HANDOFF_WITHDRAWN, about_handoff=True))
        return []


def carried_over(tracker: Tracker, expiration_min: float, now: Optional[float] = None) -> List[Dict[Text, Any]]:
    """What a new session keeps: every slot and an active form when the last session did not
    expire (Rasa starts a new one after ``KW_SESSION_MAX_TURNS`` user turns,
    rasa_runtime/serve.py, so the tracker stays short); nothing after an hour of silence or in
    a new conversation."""
    last = next((e for e in reversed(tracker.events) if e.get("event") == "user"), None)
    if last is None or not expiration_min:
        return []
    if (now if now is not None else time.time()) - float(last.get("timestamp") or 0) > expiration_min * 60:
        return []
    carried = [SlotSet(name, value) for name, value in tracker.slots.items()
               if value is not None and name != "session_started_metadata"]
    loop = (tracker.active_loop or {}).get("name")
    if loop:
        carried.append(ActiveLoop(loop))  # a form in progress goes on where it was
    return carried


class ActionSessionStart(KwAction):
    """A new Rasa session (after an hour of silence) stays paused while a medewerker has this
    conversation's helpdesk ticket: the helpdesk, not the assistant, answers it. A session that
    only rolled over because it grew long keeps the conversation's slots."""

    NAME = "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        events = await self.act(dispatcher, tracker)
        minutes = float((domain.get("session_config") or {}).get("session_expiration_time") or 0)
        # After SessionStarted, which clears every slot.
        return events[:1] + carried_over(tracker, minutes) + events[1:]

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        events: List[Dict[Text, Any]] = [SessionStarted()]
        settings = self.settings
        service = HandoffService.from_settings(settings)
        try:
            open_ticket = await run_db(lambda: service.active_ticket_for_conversation(tracker.sender_id),
                                       settings.db_timeout_s)
        except Exception as exc:  # noqa: BLE001 - no database: the assistant answers
            log.warning("session start: ticket check failed (%s)", type(exc).__name__)
            open_ticket = None
        if open_ticket is not None and open_ticket.state in states.ASSIGNED_STATES:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events
