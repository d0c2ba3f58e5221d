"""Handoff to a person: consent, the question in one sentence, optional contact, then a ticket.

The ticket, its states and the opening hours live in bot.handoff; the web gateway routes the
paused conversation to the helpdesk console and resumes it when staff hand it back.
"""
import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import KwAction, answer_instead, latest_intent, portal_gemeente, utter
from bot import texts
from bot.core.reply import sources_of
from bot.handoff import hours
from bot.handoff.privacy import InvalidContact, normalize_contact
from bot.handoff.service import HandoffService
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import helpdesk_reply
from bot.core.runner import run_db

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


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_handoff_form"

    def validate_handoff_toestemming(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"handoff_toestemming": True}
        # "nee", or a different question: no sharing, leave the form.
        return {"handoff_toestemming": False, "requested_slot": None}

    def validate_handoff_vraag(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())
        if len(text) < 3:
            dispatcher.utter_message(text=texts.HANDOFF_QUESTION_TOO_SHORT)
            return {"handoff_vraag": None}
        return {"handoff_vraag": text[:MAX_QUESTION_CHARS]}

    def validate_handoff_contact(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())
        if latest_intent(tracker) == "deny" or text.lower().strip(".!") in NO_CONTACT:
            return {"handoff_contact": "-"}
        return {"handoff_contact": text[:200]}


class ActionHandoffCreate(KwAction):
    """The form is done: create the ticket and pause the assistant, or explain why not."""

    NAME = "action_handoff_create"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        if not tracker.get_slot("handoff_toestemming") or not tracker.get_slot("handoff_vraag"):
            if latest_intent(tracker).startswith("faq_"):
                answer_instead(dispatcher, tracker)  # they asked something else instead
                return RESET
            reply = helpdesk_reply(kb, texts.HANDOFF_NOT_SHARED)
            utter(dispatcher, reply)
            return RESET
        settings = self.settings
        # Through the gateway a typed e-mail address or phone number arrives masked; the
        # gateway then stores it on the ticket itself (HandoffService.set_contact).
        contact = usable_contact(tracker.get_slot("handoff_contact"))
        service = HandoffService.from_settings(settings)
        try:
            await run_db(lambda: service.create_ticket(
                tracker.sender_id, tracker.get_slot("handoff_vraag"), contact,
                portal_gemeente(tracker), transcript(tracker),
                consent_at=dt.datetime.now(dt.timezone.utc)), settings.db_timeout_s * 2)
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
        dispatcher.utter_message(text=text)
        return RESET + [ConversationPaused()]


class ActionSessionStart(KwAction):
    """A new Rasa session (after an hour of silence) stays paused while a helpdesk ticket of
    this conversation is open: the helpdesk, not the assistant, answers it."""

    NAME = "action_session_start"

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
        if open_ticket is not None:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events
