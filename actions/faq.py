"""Answers from the knowledge base: the rendering and the second chance live in bot.knowledge."""
import json
import logging
import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import KwAction, utter
from actions.status import STATUS_CONTEXT_SLOT
from actions.handoff import withdrawal_followup
from bot.insights.record import note_faq, note_rephrase  # the editors' page (bot/insights)
from bot import texts
from bot.conversation import (
    SECOND_CHANCE_SLOT, choices_reply, consecutive_fallbacks, helpdesk_shown, rephrase_reply,
)
from bot.core.masking import mask_text
from bot.knowledge.loader import get_knowledge_base
from bot.status.verification import parse_aanvraagnummer
from bot.knowledge.places import find
from bot.core.reply import Reply
from bot.knowledge.render import answer_button, answer_for, helpdesk_reply
from bot.status import followup
from bot.knowledge.retrieval import (
    ANSWER, ANSWERED, CHOICES, PLACE, looks_like_nonsense, second_chance, tokens,
)

log = logging.getLogger(__name__)
# Below this NLU confidence a FAQ answer is checked against the knowledge-base search; on the
# held-out sets this changed no right answer (see tests/unit/test_actions_faq.py).
SECOND_OPINION_BELOW = 0.9
REVISED = "herzien"
#: The last answered knowledge-base intent, for "en voor Rotterdam?" (intent inform_plaats).
TOPIC_SLOT = "onderwerp"
#: Answers that depend on the place named; a follow-up about another place keeps the topic.
PLACE_TOPICS = ("faq_gebieden", "faq_bedrag_gemeente", "faq_inwoners", "faq_wie_aanvragen",
                "faq_voorbeelden")
FOLLOW_UP = "inform_plaats"
# Where a message holds a second question: "…? En …", "… en hoeveel …".
# The second question may start with a preposition: "… en voor welke jaren?".
_SPLIT_RE = re.compile(r"\?\s+|\s+(?:en|maar|ook)\s+(?=(?:(?:voor|in|vanaf|tot|sinds|op|met|bij|naar|"
                       r"van|aan)\s+)?(?:wanneer|hoeveel|hoe|wat|welke|wie|waar|"
                       r"kan|kunnen|mag|mogen|is|zijn|moet|moeten)\b)", re.IGNORECASE)


#: A part that points back ("wat houden ze in?") is about the first question, not a second one.
_REFERRING_RE = re.compile(r"\b(?:ze|zij|die|dat|dit|het|hem|hun|daar\w*|ervan|erbij)\b", re.IGNORECASE)
#: A second question is answered in full when its best match beats the next by this factor;
#: a closer call is offered as a button.
SECOND_CLEAR = 1.1


def other_question(kb, text: str, answered_intent: str) -> Optional[Tuple[str, str, bool]]:
    """A second question in the same message (and not the one answered) that the knowledge base
    answers: (its intent, the part of the message that asks it, whether the match is clear
    enough to answer it in full), or None. The NLU may have answered either part."""
    parts = [p for p in _SPLIT_RE.split(text or "") if p and len(p.split()) >= 3]
    if len(parts) < 2:
        return None
    for part in parts[1:] + parts[:1]:
        if _REFERRING_RE.search(part) and len(tokens(part)) <= 1:
            continue
        chance = second_chance(kb, part, [])
        if chance.path == ANSWER:
            key, clear = chance.key, True
        elif chance.path == CHOICES and chance.candidates:
            (key, best), runner_up = chance.candidates[0], (chance.candidates[1:2] or [("", 0.0)])[0][1]
            clear = best >= SECOND_CLEAR * runner_up
        else:
            continue
        if key in kb.answers and kb.answers[key].intent != answered_intent:
            return kb.answers[key].intent, part, clear
    return None


#: Words that make a money or date question one about the regeling, not about "our" application.
_GENERAL_RE = re.compile(r"\b(?:totaal|alle|elke|iedere?|per gemeente|per gebied|gemeenten|gemeentes|"
                         r"een gemeente|de gemeenten|regeling in)\b", re.IGNORECASE)
_OWN_RE = re.compile(r"\b(?:we|wij|ons|onze|mijn|jullie|ik)\b", re.IGNORECASE)
#: Intents that after a status are as likely about that application as about the regeling.
_SHORT_ABOUT_STATUS = ("faq_bedrag_gemeente", "faq_betaling", "faq_toekenning")


def about_status(kb, tracker: Tracker, intent: str, text: str, entities) -> bool:
    """After a status was shown, "hoeveel hebben we gekregen?" or "wanneer wordt er betaald?"
    is about that application: no place, theme or ministry named, nothing about all gemeenten,
    and said of "we/ons" (or short enough to be a follow-up)."""
    if not tracker.get_slot(STATUS_CONTEXT_SLOT) or intent not in followup.TOPIC_OF_INTENT:
        return False
    mentions = find(kb, text, entities)
    if mentions.any_place or mentions.themes or mentions.ministries or _GENERAL_RE.search(text):
        return False
    if _OWN_RE.search(text):
        return True
    return intent in _SHORT_ABOUT_STATUS and len(text.split()) <= 5


def misread(tracker: Tracker, below: float = 1.01) -> bool:
    """The NLU chose an intent (with a confidence under ``below``) for a message without one
    known word: treat it as not understood (the rephrase path), so "grmbl" gets no answer, no
    "ja" and counts as a miss."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    confidence = (message.get("intent") or {}).get("confidence") or 0.0
    return (not text.startswith("/") and confidence < below
            and looks_like_nonsense(get_knowledge_base(), text))


class ActionAnswerFaq(KwAction):
    NAME = "action_answer_faq"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        if misread(tracker):
            return await ActionRephrase(self._settings).act(dispatcher, tracker)
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name", "")
        text, entities = message.get("text") or "", message.get("entities") or []
        events: List[Dict[Text, Any]] = []
        if intent == FOLLOW_UP:  # "en voor Rotterdam?": the last topic, for another place
            topic = tracker.get_slot(TOPIC_SLOT)
            intent = topic if topic in PLACE_TOPICS else "faq_gebieden"
        if about_status(kb, tracker, intent, text, entities):
            reply = followup.answer(tracker.get_slot(STATUS_CONTEXT_SLOT), text, intent, kb.unknown_offer)
            if reply is not None:
                utter(dispatcher, reply)
                return []
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
        await note_faq(self.settings, message, reply, chance.key if events else intent, revised=bool(events),
                       conversation=tracker.sender_id)
        if reply is None:
            reply = helpdesk_reply(kb, texts.NO_ANSWER)
        utter(dispatcher, reply)
        answered = kb.answers[chance.key].intent if events else intent
        also = other_question(kb, text, answered)
        if also is not None:  # "… en …?": both halves get their answer (or, unsure, a button)
            intent_also, part, clear = also
            second = answer_for(kb, intent_also, part) if clear else None
            if second is not None:
                utter(dispatcher, second)
            else:
                utter(dispatcher, Reply(texts.ALSO_ASKED, (answer_button(kb, kb.by_intent[intent_also].key),)))
        if answered in kb.by_intent:
            events.append(SlotSet(TOPIC_SLOT, answered))
        return events


class ActionRephrase(KwAction):
    """Low confidence: a second chance from the knowledge base, else suggest topics the first
    time and offer the helpdesk the second time."""

    NAME = "action_rephrase"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        kb = get_knowledge_base()
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if parse_aanvraagnummer(text) or (message.get("metadata") or {}).get("code_ref"):
            # Not understood, but it holds an aanvraagnummer or a verificatiecode: the status.
            return [FollowupAction("status_form")]
        withdraw = await withdrawal_followup(tracker, self.settings)
        if withdraw:  # "hoeft niet meer, ik weet het al" while a helpdesk question waits
            return withdraw
        chance = second_chance(kb, text, message.get("entities") or [])
        misunderstood = consecutive_fallbacks(tracker.events, ANSWERED,
                                              lambda said: looks_like_nonsense(kb, said))
        topic = tracker.get_slot(TOPIC_SLOT)
        if chance.path == PLACE and topic in PLACE_TOPICS:
            # "en voor Rotterdam?" after an amount or inhabitants answer: the same topic.
            reply = answer_for(kb, topic, text, message.get("entities") or []) or chance.reply
        elif chance.path in ANSWERED:
            reply = chance.reply
        elif chance.path == CHOICES and misunderstood < 3:
            reply = choices_reply(kb, chance.reply)
        else:
            reply = rephrase_reply(kb, message.get("intent_ranking") or [], misunderstood,
                                   helpdesk_shown(tracker.events, kb))
        # For the editors: which path answered, with the message masked (no personal data).
        log.info("second chance %s", json.dumps({
            "path": chance.path, "answer": chance.key, "misunderstood": misunderstood,
            "candidates": [[k, round(s, 2)] for k, s in chance.candidates],
            "text": mask_text(text)[:200]}, ensure_ascii=False))
        await note_rephrase(self.settings, message, chance, reply, conversation=tracker.sender_id)
        utter(dispatcher, reply)
        return [SlotSet(SECOND_CHANCE_SLOT, chance.path)]
