"""What the status and handoff actions share: their settings, identity from metadata, the
latest intent, and answering a question the user asked instead of filling a form."""
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.loader import get_knowledge_base
from bot import texts
from bot.core.reply import Reply
from bot.knowledge.render import answer_for, helpdesk_reply
from bot.settings import Settings, get_settings


class KwAction(Action, ABC):
    """Our actions: ``NAME`` is the action's name in domain.yml; ``act`` does the work and
    returns the events. The settings are passed in (tests, other callers) or are the process's
    own, read from the environment once (rasa-sdk makes every action without arguments)."""

    NAME = ""

    def __init__(self, settings: Optional[Settings] = None) -> None:
        super().__init__()
        self._settings = settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    def name(self) -> Text:
        return self.NAME

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        return await self.act(dispatcher, tracker)

    @abstractmethod  # also keeps rasa-sdk from registering this base class as an action
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        """Do the action's work; the events for the tracker."""


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """Send one reply: text, buttons, and its sources as data."""
    dispatcher.utter_message(**reply.message())


def portal_gemeente(tracker: Tracker) -> Optional[str]:
    """The verified gemeente, or None on the public website."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            portal = (event.get("metadata") or {}).get("portal") or {}
            gemeente = portal.get("gemeente") if isinstance(portal, dict) else None
            return gemeente if isinstance(gemeente, str) and gemeente else None
    return None


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


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
