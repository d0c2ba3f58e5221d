"""Application status: the form that collects number (+ code on the public site) and the lookup.

Identity: a verified portal user's gemeente arrives as message metadata signed by the web
gateway (actions/common.py, trusted_identity); anything else is the public website, which needs
the verificatiecode. Lookups, rate limits and audit live in bot.status.service.
"""

import dataclasses
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    EXITS,
    KwAction,
    answer_detour,
    answer_instead,
    client_id,
    latest_intent,
    latest_text,
    portal_gemeente,
    utter,
)
from bot import texts
from bot.core.reply import HANDOFF_BUTTON, Button, Reply
from bot.core.runner import run_db
from bot.settings import Settings
from bot.status import coderefs, followup, service
from bot.status.render import render_missing_items, render_result
from bot.status.verification import extract_code, normalize_code, parse_aanvraagnummer

RESET = [SlotSet("aanvraagnummer", None), SlotSet("verificatiecode", None)]
# After a successful lookup the "Wat moet ik aanleveren?" answer is kept for this session only
# (slots never carry over to a new session), so the follow-up button needs no second lookup.
MISSING_SLOT = "ontbrekende_stukken"
#: The status code of the application shown last, for "waarom?" (actions/dialogue.py).
STATUS_SLOT = "laatste_status"
#: What that status said (amounts, dates, next step), for "hoeveel hebben we gekregen?" after it.
STATUS_CONTEXT_SLOT = "status_gegevens"
LOOKUP_BUTTON = Button(texts.STATUS_LOOKUP_BUTTON, "/status_aanvraag")
#: Messages that may hold an aanvraagnummer or a code, even when NLU is unsure what they are.
ANSWERING = {"status_aanvraag", "inform_aanvraagnummer", "inform_code", "nlu_fallback"}


def _metadata(tracker: Tracker, key: str) -> str | None:
    value = ((tracker.latest_message or {}).get("metadata") or {}).get(key)
    return value if isinstance(value, str) else None


async def resolve_code(slot_value: str | None, settings: Settings) -> str | None:
    """The code itself: redeemed from the gateway's one-time reference, or (Rasa reached without
    the gateway, as in Rasa's own test tools) the value typed."""
    if not slot_value or not slot_value.startswith(coderefs.REF_PREFIX):
        return slot_value
    ref = slot_value[len(coderefs.REF_PREFIX) :]
    try:
        return await run_db(lambda: coderefs.take(settings, ref), settings.db_timeout_s)
    except Exception:  # treated as a wrong code; the lookup says so
        return None


def _code_ref_value(tracker: Tracker) -> dict[str, Any] | None:
    ref = _metadata(tracker, "code_ref")
    return {"verificatiecode": coderefs.REF_PREFIX + ref} if ref else None


#: Saying goodbye inside the form leaves it; it is never read as a wrong number or code.
_GOODBYE_RE = re.compile(
    r"\b(?:doei|dooei|doeg|tot\s+ziens|tot\s+later|fijne\s+dag|dat\s+was\s+(?:het|alles)"
    r"|ik\s+ga\s+(?:er\s+)?(?:nu\s+)?(?:mee\s+)?stoppen|bye)\b",
    re.IGNORECASE,
)
#: What extract_verificatiecode sets at the code step, so that validate_verificatiecode reads the
#: message; the slot itself only ever holds a code reference (or, without the gateway, the code).
ASKED = "?"
#: Wrong codes after which the assistant says where the code is and offers the helpdesk.
WRONG_CODES_BEFORE_HELP = 3


def saying_goodbye(tracker: Tracker) -> bool:
    text = latest_text(tracker)
    return latest_intent(tracker) == "goodbye" or (bool(_GOODBYE_RE.search(text)) and len(text.split()) <= 8)


def via_gateway(tracker: Tracker) -> bool:
    """The message came through the web gateway, which takes every code out of it."""
    return _metadata(tracker, "msg_id") is not None


def _since_form_start(tracker: Tracker) -> list[dict[str, Any]]:
    events = tracker.events
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "active_loop" and events[i].get("name") == "status_form":
            return events[i:]
    return events


def said_before(events: list[dict[str, Any]], text: str) -> int:
    return sum(1 for e in events if e.get("event") == "bot" and e.get("text") == text)


def failed_lookups(tracker: Tracker, not_found_text: str) -> int:
    """NOT_FOUND answers since the last application shown (each one a wrong number or code)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == STATUS_SLOT and event.get("value"):
            break
        if event.get("event") == "bot" and event.get("text") == not_found_text:
            count += 1
    return count


def code_help() -> Reply:
    return Reply(texts.STATUS_CODE_HELP, (HANDOFF_BUTTON,))


class ValidateStatusForm(FormValidationAction):
    """Number and code, bare or inside a sentence, in either order or in one message. Another
    question gets its answer and the form asks again; stop, "I don't have it" and asking for a
    person end the form (action_status_lookup then says what to do instead)."""

    def name(self) -> str:
        return "validate_status_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if portal_gemeente(tracker):
            return ["aanvraagnummer"]  # the portal token already proves who is asking
        return ["aanvraagnummer", "verificatiecode"]

    async def extract_aanvraagnummer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A number in the message that started the form, which the NLU did not mark as an
        entity (later messages are read whole by the form's own from_text mapping)."""
        if tracker.get_slot("requested_slot") or tracker.get_slot("aanvraagnummer"):
            return {}
        number = parse_aanvraagnummer(latest_text(tracker))
        return {"aanvraagnummer": number} if number else {}

    async def extract_verificatiecode(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A code the gateway took out of any message of the form (at any step) is kept. At the
        code step anything else goes to validate_verificatiecode as a marker, never as the text
        (domain.yml maps this slot as custom)."""
        found = _code_ref_value(tracker)
        if found:
            return found
        if (
            tracker.get_slot("requested_slot") == "verificatiecode"
            and (tracker.active_loop or {}).get("name") == "status_form"
        ):
            return {"verificatiecode": ASKED}
        return {}

    def validate_aanvraagnummer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        number = parse_aanvraagnummer(value if isinstance(value, str) else "") or parse_aanvraagnummer(text)
        if number:
            return {"aanvraagnummer": number}
        if saying_goodbye(tracker) and not _code_ref_value(tracker):
            return {"aanvraagnummer": None, "requested_slot": None}
        if latest_intent(tracker) in EXITS:
            return {"aanvraagnummer": None, "requested_slot": None}
        if _code_ref_value(tracker):
            dispatcher.utter_message(text=texts.STATUS_CODE_FIRST)
            return {"aanvraagnummer": None}
        if latest_intent(tracker) == "vraag_uitleg":
            dispatcher.utter_message(text=texts.STATUS_WHY_NUMBER)
            return {"aanvraagnummer": None}
        if latest_intent(tracker) not in ANSWERING and answer_detour(dispatcher, tracker):
            return {"aanvraagnummer": None}
        dispatcher.utter_message(text=texts.STATUS_BAD_NUMBER)
        return {"aanvraagnummer": None}

    def validate_verificatiecode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = _code_ref_value(tracker)
        if found:  # the gateway took the code out of the message: only its reference is kept
            return found
        if isinstance(value, str) and value.startswith(coderefs.REF_PREFIX):
            return {"verificatiecode": value}
        # The message itself (the slot only ever holds a reference): through the gateway a code
        # in any spelling has become a placeholder and a reference already.
        text = latest_text(tracker)
        intent = latest_intent(tracker)
        number = parse_aanvraagnummer(text)
        if number:  # a (corrected) number at the code step
            if number != tracker.get_slot("aanvraagnummer"):
                dispatcher.utter_message(text=texts.STATUS_NEW_NUMBER.format(number=number))
            return {"aanvraagnummer": number, "verificatiecode": None}
        if saying_goodbye(tracker):
            return {"verificatiecode": None, "requested_slot": None}
        if not via_gateway(tracker):
            # Rasa reached without the gateway (its test tools): the code as typed. An exit word
            # ("stoppen") is no code, but a code as the back office writes it ("3hpm-tphp") is
            # one, whatever intent the NLU gave it: a random code can look like anything to DIET.
            issued = extract_code(text, expecting=False)[0] is not None
            code = extract_code(text, expecting=True)[0] if (intent not in EXITS or issued) else None
            if code:
                return {"verificatiecode": normalize_code(code)}
        if intent in EXITS:
            return {"verificatiecode": None, "requested_slot": None}
        if intent == "vraag_uitleg":
            dispatcher.utter_message(text=texts.STATUS_WHY_NUMBER)
            return {"verificatiecode": None}
        if intent not in ANSWERING and answer_detour(dispatcher, tracker):
            return {"verificatiecode": None}
        if said_before(_since_form_start(tracker), texts.STATUS_BAD_CODE) >= WRONG_CODES_BEFORE_HELP - 1:
            # The third wrong try: not the same message again, but where the code is and the
            # helpdesk; the form ends (action_status_lookup adds nothing).
            utter(dispatcher, code_help())
            return {"verificatiecode": None, "requested_slot": None}
        dispatcher.utter_message(text=texts.STATUS_BAD_CODE)
        return {"verificatiecode": None}


def leave_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The status form ended without a lookup: say what to do instead, or start the handoff."""
    intent = latest_intent(tracker)
    if intent == "human_handoff":
        return [FollowupAction("handoff_form")]
    last_bot = next((e.get("text") for e in reversed(tracker.events) if e.get("event") == "bot"), None)
    if last_bot == texts.STATUS_CODE_HELP:
        return []  # the form ended after wrong codes and already said what to do
    if saying_goodbye(tracker):
        dispatcher.utter_message(response="utter_goodbye")
        return []
    if intent == "geen_aanvraagnummer":
        utter(dispatcher, Reply(texts.STATUS_WHERE_NUMBER, (HANDOFF_BUTTON,)))
    elif intent in ("stop", "deny", "handoff_intrekken"):
        dispatcher.utter_message(text=texts.STATUS_STOPPED)
    else:
        answer_instead(dispatcher, tracker)
    return []


class ActionStatusLookup(KwAction):
    """Runs when the form ends: look up, or answer what the user asked instead."""

    NAME = "action_status_lookup"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        number = tracker.get_slot("aanvraagnummer")
        code_slot = tracker.get_slot("verificatiecode")
        gemeente = portal_gemeente(tracker)
        if number and gemeente:
            result = await service.lookup_portal_async(gemeente, number, tracker.sender_id, settings=self.settings)
        elif number and code_slot:
            code = await resolve_code(code_slot, self.settings)
            result = await service.lookup_public_async(
                number, code, tracker.sender_id, client_id(tracker), settings=self.settings
            )
        else:
            return RESET + leave_form(dispatcher, tracker)
        reply = render_result(result, portal=bool(gemeente), gemeente=gemeente)
        if result.kind == service.NOT_FOUND and not gemeente:
            if failed_lookups(tracker, reply.text) >= WRONG_CODES_BEFORE_HELP - 1:
                # From the third wrong combination on: where the code is, and the helpdesk,
                # instead of the same message again (another try stays possible).
                reply = code_help()
            # Wrong number or code: keep the number, and read a code in the next message.
            utter(dispatcher, dataclasses.replace(reply, expect=coderefs.EXPECT))
            return [SlotSet("verificatiecode", None), SlotSet("aanvraagnummer", number)]
        utter(dispatcher, reply)
        missing = render_missing_items(result.application).text if result.application else None
        status = result.application.status if result.application else None
        shown = followup.snapshot(result.application) if result.application else None
        return [
            *RESET,
            SlotSet(MISSING_SLOT, missing),
            SlotSet(STATUS_SLOT, status),
            SlotSet(STATUS_CONTEXT_SLOT, shown),
        ]


class ActionStatusList(KwAction):
    """ "Welke aanvragen hebben wij lopen?": only for a verified portal user."""

    NAME = "action_status_list"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        gemeente = portal_gemeente(tracker)
        if not gemeente:
            utter(dispatcher, Reply(texts.STATUS_LIST_PORTAL_ONLY, (LOOKUP_BUTTON,)))
            return []
        result = await service.list_for_gemeente_async(gemeente, tracker.sender_id, settings=self.settings)
        utter(dispatcher, render_result(result, portal=True, gemeente=gemeente))
        return []


class ActionStatusMissing(KwAction):
    """ "Wat moet ik aanleveren?" about the application shown earlier in this conversation."""

    NAME = "action_status_missing"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        missing = tracker.get_slot(MISSING_SLOT)
        if missing:
            dispatcher.utter_message(text=missing)
        else:
            utter(dispatcher, Reply(texts.STATUS_MISSING_UNKNOWN, (LOOKUP_BUTTON,)))
        return []
