"""What the status and handoff actions share: their settings, identity from metadata, the
latest intent, and answering a question the user asked instead of filling a form."""

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import texts
from bot.core import identity
from bot.core.reply import Reply
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import answer_for, helpdesk_reply
from bot.settings import Settings, get_settings


class KwAction(Action, ABC):
    """Our actions: ``NAME`` is the action's name in domain.yml; ``act`` does the work and
    returns the events. The settings are passed in (tests, other callers) or are the process's
    own, read from the environment once (rasa-sdk makes every action without arguments)."""

    NAME = ""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    def name(self) -> str:
        return self.NAME

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return await self.act(dispatcher, tracker)

    @abstractmethod  # also keeps rasa-sdk from registering this base class as an action
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """Do the action's work; the events for the tracker."""


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """Send one reply: text, buttons, and its sources as data."""
    dispatcher.utter_message(**reply.message())


def trusted_identity(tracker: Tracker) -> identity.Identity:
    """Client id and portal scope of the latest user message, as far as the gateway signed
    them for this conversation (bot/core/identity.py). The one place where actions decide what
    to believe of a message's metadata: anything unsigned is the public website, from the one
    shared unverified client."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return identity.verified(get_settings().identity_key, tracker.sender_id, event.get("metadata"))
    return identity.Identity(identity.UNVERIFIED_CLIENT, None)


def portal_gemeente(tracker: Tracker) -> str | None:
    """The verified gemeente, or None on the public website."""
    portal = trusted_identity(tracker).portal or {}
    gemeente = portal.get("gemeente")
    return gemeente if isinstance(gemeente, str) and gemeente else None


def client_id(tracker: Tracker) -> str | None:
    """The verified client id (for the per-address lockout)."""
    return trusted_identity(tracker).client_id


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def latest_confidence(tracker: Tracker) -> float:
    return float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


#: Intents that end any form at any step: they are never read as the value the form asked for.
EXITS = frozenset({"stop", "deny", "geen_aanvraagnummer", "human_handoff", "handoff_intrekken"})
#: Below this confidence a message inside a form is read as an attempt at the form's answer,
#: not as another question.
DETOUR_CONFIDENCE = 0.6
#: Small talk inside a form: a response from domain.yml, then the form asks its question again.
DETOUR_RESPONSES = {
    "bot_challenge": "utter_bot_challenge",
    "capabilities": "utter_capabilities",
    "out_of_scope": "utter_out_of_scope",
    "meer_vragen": "utter_meer_vragen",
}


def answer_detour(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A form is waiting for a value, but the user asked something else: answer it here (the
    form then asks its question again). False when the message is no clear other question."""
    intent = latest_intent(tracker)
    if latest_confidence(tracker) < DETOUR_CONFIDENCE:
        return False
    if intent.startswith("faq_"):
        message = tracker.latest_message or {}
        reply = answer_for(get_knowledge_base(), intent, latest_text(tracker), message.get("entities") or [])
        if reply is not None:
            utter(dispatcher, reply)
            return True
    if intent in DETOUR_RESPONSES:
        dispatcher.utter_message(response=DETOUR_RESPONSES[intent])
        return True
    # Nothing to add for these: the form's question again is the answer.
    return intent in ("greet", "thank", "herhaal")


def answer_instead(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The user left a form with another question: answer that question."""
    kb = get_knowledge_base()
    intent = latest_intent(tracker)
    message = tracker.latest_message or {}
    reply = answer_for(kb, intent, message.get("text") or "", message.get("entities") or [])
    if reply is not None:
        utter(dispatcher, reply)
    elif intent == "human_handoff":
        utter(dispatcher, helpdesk_reply(kb, handoff=True))
    else:
        dispatcher.utter_message(text=texts.FORM_STOPPED)
