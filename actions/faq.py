"""Answers from the knowledge base: the rendering lives in bot.knowledge."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import KwAction, utter
from bot import texts
from bot.conversation import consecutive_fallbacks, rephrase_reply
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import answer_for, helpdesk_reply


class ActionAnswerFaq(KwAction):
    NAME = "action_answer_faq"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name", "")
        reply = answer_for(kb, intent, message.get("text") or "", message.get("entities") or [])
        if reply is None:
            reply = helpdesk_reply(kb, texts.NO_ANSWER)
        utter(dispatcher, reply)
        return []


class ActionRephrase(KwAction):
    """Low confidence: suggest topics the first time, offer the helpdesk the second time."""

    NAME = "action_rephrase"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        reply = rephrase_reply(kb, ranking, consecutive_fallbacks(tracker.events))
        utter(dispatcher, reply)
        return []
