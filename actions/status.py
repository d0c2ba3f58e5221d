"""Application status: the form that collects number (+ code on the public site) and the lookup.

Identity: a verified portal user's gemeente arrives as message metadata from the web gateway
(the only client that can reach Rasa); anything else is the public website, which needs the
verificatiecode. Lookups, rate limits and audit live in bot.status.service.
"""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import answer_instead, latest_intent, portal_gemeente
from bot.status import service
from bot.status.render import render_missing_items, render_result
from bot.status.verification import normalize_code, parse_aanvraagnummer

# Intents that mean "I am answering your question" while the form asks for something.
ANSWERING = {"status_aanvraag", "inform_aanvraagnummer", "affirm", "nlu_fallback", "status_overzicht"}
RESET = [SlotSet("aanvraagnummer", None), SlotSet("verificatiecode", None)]
# After a successful lookup the "Wat moet ik aanleveren?" answer is kept for this session only
# (slots never carry over to a new session), so the follow-up button needs no second lookup.
MISSING_SLOT = "ontbrekende_stukken"


def client_id(tracker: Tracker) -> Optional[str]:
    value = ((tracker.latest_message or {}).get("metadata") or {}).get("client_id")
    return value if isinstance(value, str) else None


def changed_topic(tracker: Tracker) -> bool:
    """The user asked something else instead of answering the form's question."""
    return latest_intent(tracker) not in ANSWERING


def send(dispatcher: CollectingDispatcher, reply) -> None:
    dispatcher.utter_message(text=reply.text, buttons=reply.button_dicts())


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
        dispatcher.utter_message(
            text="Dat herken ik niet als aanvraagnummer. Een aanvraagnummer ziet eruit als "
                 "KW-2025-0042 (KW, het jaar en vier cijfers).")
        return {"aanvraagnummer": None}

    def validate_verificatiecode(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = value if isinstance(value, str) else ""
        words = text.split()
        code = normalize_code(text) if 0 < len(words) <= 2 else None
        if code:
            return {"verificatiecode": code}
        if latest_intent(tracker) == "deny" or (len(words) > 2 and changed_topic(tracker)):
            return {"verificatiecode": None, "requested_slot": None}
        dispatcher.utter_message(
            text="Dat lijkt geen verificatiecode. Je kreeg de code van onze backoffice; hij "
                 "ziet eruit als ABCD-1234.")
        return {"verificatiecode": None}


class ActionStatusLookup(Action):
    """Runs when the form ends: look up, or answer what the user asked instead."""

    def name(self) -> Text:
        return "action_status_lookup"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("aanvraagnummer")
        code = tracker.get_slot("verificatiecode")
        gemeente = portal_gemeente(tracker)
        if number and gemeente:
            result = service.lookup_portal(gemeente, number, tracker.sender_id)
        elif number and code:
            result = service.lookup_public(number, code, tracker.sender_id, client_id(tracker))
        else:
            answer_instead(dispatcher, tracker)
            return RESET
        send(dispatcher, render_result(result, portal=bool(gemeente), gemeente=gemeente))
        missing = render_missing_items(result.application).text if result.application else None
        return RESET + [SlotSet(MISSING_SLOT, missing)]


class ActionStatusList(Action):
    """"Welke aanvragen hebben wij lopen?": only for a verified portal user."""

    def name(self) -> Text:
        return "action_status_list"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        gemeente = portal_gemeente(tracker)
        if not gemeente:
            dispatcher.utter_message(
                text="Een overzicht van alle aanvragen van je gemeente kan ik alleen geven als je "
                     "bent ingelogd in ons aanvragersportaal. Hier op de website zoek ik één "
                     "aanvraag op met het aanvraagnummer en de verificatiecode.",
                buttons=[{"title": "Status opzoeken", "payload": "/status_aanvraag"}])
            return []
        result = service.list_for_gemeente(gemeente, tracker.sender_id)
        send(dispatcher, render_result(result, portal=True, gemeente=gemeente))
        return []


class ActionStatusMissing(Action):
    """"Wat moet ik aanleveren?" about the application shown earlier in this conversation."""

    def name(self) -> Text:
        return "action_status_missing"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        missing = tracker.get_slot(MISSING_SLOT)
        if missing:
            dispatcher.utter_message(text=missing)
        else:
            dispatcher.utter_message(
                text="Welke stukken er ontbreken, zie je bij de status van je aanvraag. "
                     "Zal ik die voor je opzoeken?",
                buttons=[{"title": "Status opzoeken", "payload": "/status_aanvraag"}])
        return []
