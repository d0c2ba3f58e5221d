"""Answers from the knowledge base: the rendering and the second chance live in bot.knowledge."""
import json
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import KwAction, utter
from bot.insights.record import note_faq, note_rephrase  # the editors' page (bot/insights)
from bot import texts
from bot.conversation import SECOND_CHANCE_SLOT, choices_reply, consecutive_fallbacks, rephrase_reply
from bot.core.masking import mask_text
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.render import answer_for, helpdesk_reply
from bot.knowledge.retrieval import ANSWER, ANSWERED, CHOICES, second_chance

log = logging.getLogger(__name__)
# Below this NLU confidence a FAQ answer is checked against the knowledge-base search; on the
# held-out sets this changed no right answer (see tests/unit/test_actions_faq.py).
SECOND_OPINION_BELOW = 0.9
REVISED = "herzien"


class ActionAnswerFaq(KwAction):
    NAME = "action_answer_faq"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name", "")
        text, entities = message.get("text") or "", message.get("entities") or []
        events: List[Dict[Text, Any]] = []
        reply = answer_for(kb, intent, text, entities)
        confidence = (message.get("intent") or {}).get("confidence") or 0.0
        if reply is not None and confidence < SECOND_OPINION_BELOW:
            # An unsure guess that the knowledge base clearly disagrees with ("kinderen van 0 tot 4
            # jaar" read as years): the clear knowledge-base match answers instead.
            chance = second_chance(kb, text, entities)
            if chance.path == ANSWER and kb.answers[chance.key].intent != intent:
                log.info("second opinion %s", json.dumps({
                    "path": REVISED, "nlu": intent, "confidence": round(confidence, 2),
                    "answer": chance.key, "text": mask_text(text)[:200]}, ensure_ascii=False))
                reply = chance.reply
                events.append(SlotSet(SECOND_CHANCE_SLOT, REVISED))
        await note_faq(self.settings, message, reply, chance.key if events else intent, revised=bool(events))
        if reply is None:
            reply = helpdesk_reply(kb, texts.NO_ANSWER)
        utter(dispatcher, reply)
        return events


class ActionRephrase(KwAction):
    """Low confidence: a second chance from the knowledge base, else suggest topics the first
    time and offer the helpdesk the second time."""

    NAME = "action_rephrase"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        chance = second_chance(kb, text, message.get("entities") or [])
        misunderstood = consecutive_fallbacks(tracker.events, ANSWERED)
        if chance.path in ANSWERED:
            reply = chance.reply
        elif chance.path == CHOICES and misunderstood < 2:
            reply = choices_reply(kb, chance.reply)
        else:
            reply = rephrase_reply(kb, message.get("intent_ranking") or [], misunderstood)
        # For the editors: which path answered, with the message masked (no personal data).
        log.info("second chance %s", json.dumps({
            "path": chance.path, "answer": chance.key, "misunderstood": misunderstood,
            "candidates": [[k, round(s, 2)] for k, s in chance.candidates],
            "text": mask_text(text)[:200]}, ensure_ascii=False))
        await note_rephrase(self.settings, message, chance, reply)
        utter(dispatcher, reply)
        return [SlotSet(SECOND_CHANCE_SLOT, chance.path)]
