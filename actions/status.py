"""Application status: the form that collects number (+ code on the public site) and the lookup.

Identity: a verified portal user's gemeente arrives as message metadata from the web gateway
(the only client that can reach Rasa); anything else is the public website, which needs the
verificatiecode. Lookups, rate limits and audit live in bot.status.service.
"""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import KwAction, answer_instead, latest_intent, portal_gemeente, utter
from bot import texts
from bot.core.reply import Button, Reply
from bot.core.runner import run_db
from bot.settings import Settings
from bot.status import coderefs, service
from bot.status.render import render_missing_items, render_result
from bot.status.verification import normalize_code, parse_aanvraagnummer

# Intents that mean "I am answering your question" while the form asks for something.
ANSWERING = {"status_aanvraag", "inform_aanvraagnummer", "affirm", "nlu_fallback", "status_overzicht"}
RESET = [SlotSet("aanvraagnummer", None), SlotSet("verificatiecode", None)]
# After a successful lookup the "Wat moet ik aanleveren?" answer is kept for this session only
# (slots never carry over to a new session), so the follow-up button needs no second lookup.
MISSING_SLOT = "ontbrekende_stukken"
LOOKUP_BUTTON = Button(texts.STATUS_LOOKUP_BUTTON, "/status_aanvraag")


def _metadata(tracker: Tracker, key: str) -> Optional[str]:
    value = ((tracker.latest_message or {}).get("metadata") or {}).get(key)
    return value if isinstance(value, str) else None


def client_id(tracker: Tracker) -> Optional[str]:
    return _metadata(tracker, "client_id")


async def resolve_code(slot_value: Optional[str], settings: Settings) -> Optional[str]:
    """The code itself: redeemed from the gateway's one-time reference, or (Rasa reached without
    the gateway, as in Rasa's own test tools) the value typed."""
    if not slot_value or not slot_value.startswith(coderefs.REF_PREFIX):
        return slot_value
    ref = slot_value[len(coderefs.REF_PREFIX):]
    try:
        return await run_db(lambda: coderefs.take(settings, ref), settings.db_timeout_s)
    except Exception:  # noqa: BLE001 - treated as a wrong code; the lookup says so
        return None


def changed_topic(tracker: Tracker) -> bool:
    """The user asked something else instead of answering the form's question."""
    return latest_intent(tracker) not in ANSWERING


class ValidateStatusForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_status_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if portal_gemeente(tracker):
            return ["aanvraagnummer"]  # the portal token already proves who is asking
        return ["aanvraagnummer", "verificatiecode"]

    def validate_aanvraagnummer(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = (tracker.latest_message or {}).get("text") or ""
        number = parse_aanvraagnummer(value if isinstance(value, str) else "") or parse_aanvraagnummer(text)
        if number:
            return {"aanvraagnummer": number}
        if latest_intent(tracker) == "deny" or changed_topic(tracker):
            return {"aanvraagnummer": None, "requested_slot": None}
        dispatcher.utter_message(text=texts.STATUS_BAD_NUMBER)
        return {"aanvraagnummer": None}

    def validate_verificatiecode(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        ref = _metadata(tracker, "code_ref")
        if ref:  # the gateway took the code out of the message: only its reference is kept
            return {"verificatiecode": coderefs.REF_PREFIX + ref}
        text = value if isinstance(value, str) else ""
        words = text.split()
        code = normalize_code(text) if 0 < len(words) <= 2 else None
        if code:
            return {"verificatiecode": code}
        if latest_intent(tracker) == "deny" or (len(words) > 2 and changed_topic(tracker)):
            return {"verificatiecode": None, "requested_slot": None}
        dispatcher.utter_message(text=texts.STATUS_BAD_CODE)
        return {"verificatiecode": None}


class ActionStatusLookup(KwAction):
    """Runs when the form ends: look up, or answer what the user asked instead."""

    NAME = "action_status_lookup"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("aanvraagnummer")
        code_slot = tracker.get_slot("verificatiecode")
        gemeente = portal_gemeente(tracker)
        if number and gemeente:
            result = await service.lookup_portal_async(gemeente, number, tracker.sender_id,
                                                       settings=self.settings)
        elif number and code_slot:
            code = await resolve_code(code_slot, self.settings)
            result = await service.lookup_public_async(number, code, tracker.sender_id, client_id(tracker),
                                                       settings=self.settings)
        else:
            answer_instead(dispatcher, tracker)
            return RESET
        utter(dispatcher, render_result(result, portal=bool(gemeente), gemeente=gemeente))
        missing = render_missing_items(result.application).text if result.application else None
        return RESET + [SlotSet(MISSING_SLOT, missing)]


class ActionStatusList(KwAction):
    """"Welke aanvragen hebben wij lopen?": only for a verified portal user."""

    NAME = "action_status_list"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        gemeente = portal_gemeente(tracker)
        if not gemeente:
            utter(dispatcher, Reply(texts.STATUS_LIST_PORTAL_ONLY, (LOOKUP_BUTTON,)))
            return []
        result = await service.list_for_gemeente_async(gemeente, tracker.sender_id, settings=self.settings)
        utter(dispatcher, render_result(result, portal=True, gemeente=gemeente))
        return []


class ActionStatusMissing(KwAction):
    """"Wat moet ik aanleveren?" about the application shown earlier in this conversation."""

    NAME = "action_status_missing"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        missing = tracker.get_slot(MISSING_SLOT)
        if missing:
            dispatcher.utter_message(text=missing)
        else:
            utter(dispatcher, Reply(texts.STATUS_MISSING_UNKNOWN, (LOOKUP_BUTTON,)))
        return []
