"""Answers from the knowledge base: the rendering and the second chance live in bot.knowledge."""

import json
import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import KwAction, utter
from actions.handoff import withdraw_in_other_words
from actions.status import STATUS_CONTEXT_SLOT
from bot import texts
from bot.conversation import (
    SECOND_CHANCE_SLOT,
    choices_reply,
    consecutive_fallbacks,
    helpdesk_shown,
    rephrase_reply,
)
from bot.core.reply import Reply
from bot.insights.record import note_faq, note_rephrase  # the editors' page (bot/insights)
from bot.knowledge.loader import KnowledgeBase, get_knowledge_base
from bot.knowledge.places import find
from bot.knowledge.render import answer_button, answer_for, helpdesk_reply
from bot.knowledge.retrieval import (
    ANSWER,
    ANSWERED,
    CHOICES,
    PLACE,
    SecondChance,
    looks_like_nonsense,
    second_chance,
    tokens,
)
from bot.status import followup
from bot.status.verification import parse_aanvraagnummer

log = logging.getLogger(__name__)
# Below this NLU confidence a FAQ answer is checked against the knowledge-base search; on the
# held-out sets this changed no right answer (see tests/unit/test_actions_faq.py).
SECOND_OPINION_BELOW = 0.9
REVISED = "herzien"
#: The last answered knowledge-base intent, for "en voor Rotterdam?" (intent inform_plaats).
TOPIC_SLOT = "onderwerp"
#: Answers that depend on the place named; a follow-up about another place keeps the topic.
PLACE_TOPICS = ("faq_gebieden", "faq_bedrag_gemeente", "faq_inwoners", "faq_wie_aanvragen", "faq_voorbeelden")
FOLLOW_UP = "inform_plaats"
# Where a message holds a second question: "…? En …", "… en hoeveel …".
# The second question may start with a preposition: "… en voor welke jaren?".
_SPLIT_RE = re.compile(
    r"\?\s+|\s+(?:en|maar|ook)\s+(?=(?:(?:voor|in|vanaf|tot|sinds|op|met|bij|naar|"
    r"van|aan)\s+)?(?:wanneer|hoeveel|hoe|wat|welke|wie|waar|"
    r"kan|kunnen|mag|mogen|is|zijn|moet|moeten)\b)",
    re.IGNORECASE,
)


_SENTENCE_RE = re.compile(r"(?<=[.!:;])\s+")
#: A part that points back ("wat houden ze in?") is about the first question, not a second one.
_REFERRING_RE = re.compile(r"\b(?:ze|zij|die|dat|dit|het|hem|hun|daar\w*|ervan|erbij)\b", re.IGNORECASE)
#: A second question is answered in full when its best match beats the next by this factor;
#: a closer call is offered as a button.
SECOND_CLEAR = 1.1


def other_question(
    kb: KnowledgeBase, text: str, answered_intent: str, ranking: list[dict[str, Any]] | None = None
) -> tuple[str, str, bool] | None:
    """A second question in the same message (and not the one answered) that the knowledge base
    answers: (its intent, the part of the message that asks it, whether the match is clear
    enough to answer it in full), or None. The NLU may have answered either part."""
    parts = question_parts(text)
    if len(parts) < 2:
        return None
    for part in parts[1:] + parts[:1]:
        found = _match(kb, part) or _ranked_match(kb, part, ranking or [], answered_intent)
        if found is not None and found[0] != answered_intent:
            return found[0], part, found[1]
    return None


def _ranked_match(
    kb: KnowledgeBase, part: str, ranking: list[dict[str, Any]], answered_intent: str
) -> tuple[str, bool] | None:
    """A part too short for the search alone ("Hoeveel geld is er"): the intent the NLU ranked
    highest after the answered one, when the search also has it among the part's candidates."""
    if _REFERRING_RE.search(part) and len(tokens(part)) <= 1:
        return None
    candidates = {kb.answers[key].intent for key, _ in second_chance(kb, part, []).candidates if key in kb.answers}
    for entry in ranking:
        name = entry.get("name") or ""
        if name != answered_intent and name in kb.by_intent:
            return (name, True) if name in candidates else None
    return None


def question_parts(text: str) -> list[str]:
    """The questions of a message, each without a preamble sentence before it ("Ik ben
    journalist bij …. Hoeveel geld is er" -> "Hoeveel geld is er")."""
    parts = []
    for part in _SPLIT_RE.split(text or ""):
        last = _SENTENCE_RE.split(part.strip())[-1]
        part = last if len(last.split()) >= 3 else part
        if part and len(part.split()) >= 3:
            parts.append(part)
    return parts


def _match(kb: KnowledgeBase, part: str) -> tuple[str, bool] | None:
    """The intent whose answer the knowledge-base search finds for one question, and whether
    the match is clear; None for no match or a part that only points back."""
    if _REFERRING_RE.search(part) and len(tokens(part)) <= 1:
        return None
    chance = second_chance(kb, part, [])
    if chance.path == ANSWER:
        key, clear = chance.key, True
    elif _total_not_share(kb, part, chance.candidates):
        key, clear = "budget_totaal", True
    elif chance.path == CHOICES and chance.candidates:
        (key, best), runner_up = chance.candidates[0], (chance.candidates[1:2] or [("", 0.0)])[0][1]
        clear = best >= SECOND_CLEAR * runner_up
    else:
        return None
    return (kb.answers[key].intent, clear) if key in kb.answers else None


def _total_not_share(kb: KnowledgeBase, part: str, candidates: list[tuple[str, float]]) -> bool:
    """ "Hoeveel geld is er" scores alike for the total and a gemeente's share; without a place
    named it asks for the total (a gemeente's share needs a gemeente)."""
    if not candidates:
        return False
    best = candidates[0][1]
    close = {key for key, score in candidates if score >= best / SECOND_CLEAR}
    return (
        {"budget_totaal", "bedrag_gemeente"} <= close and "budget_totaal" in kb.answers and not find(kb, part).any_place
    )


#: An intent the NLU gave at least this confidence (under its fallback threshold of 0.45) is
#: answered when the knowledge-base search has it among its candidates as well.
NEAR_MISS = 0.35


def near_miss(kb: KnowledgeBase, message: dict[str, Any], chance: SecondChance) -> str | None:
    """The FAQ intent the NLU nearly chose, when the search agrees; else None."""
    text = message.get("text") or ""
    if looks_like_nonsense(kb, text):
        return None
    ranked = [e for e in message.get("intent_ranking") or [] if e.get("name") != "nlu_fallback"]
    if not ranked or (ranked[0].get("confidence") or 0.0) < NEAR_MISS:
        return None
    intent = ranked[0].get("name") or ""
    candidates = {kb.answers[key].intent for key, _ in chance.candidates if key in kb.answers}
    return intent if intent in kb.by_intent and intent in candidates else None


def all_questions(kb: KnowledgeBase, text: str) -> list[tuple[str, str]]:
    """Two or more questions in a message the NLU did not understand as a whole, each clearly
    matched to a different answer: (intent, part) for each; else an empty list."""
    found: list[tuple[str, str]] = []
    for part in question_parts(text):
        match = _match(kb, part)
        if match is None or not match[1]:
            return []
        if match[0] not in (intent for intent, _ in found):
            found.append((match[0], part))
    return found if len(found) >= 2 else []


#: The second-chance path of a question answered from the status just shown.
STATUS_PATH = "status"
#: Words that make a money or date question one about the regeling, not about "our" application.
_GENERAL_RE = re.compile(
    r"\b(?:totaal|alle|elke|iedere?|per gemeente|per gebied|gemeenten|gemeentes|"
    r"een gemeente|de gemeenten|regeling in)\b",
    re.IGNORECASE,
)
_OWN_RE = re.compile(r"\b(?:we|wij|ons|onze|mijn|jullie|ik)\b", re.IGNORECASE)
#: Intents that after a status are as likely about that application as about the regeling.
_SHORT_ABOUT_STATUS = ("faq_bedrag_gemeente", "faq_betaling", "faq_toekenning")


def about_status(kb: KnowledgeBase, tracker: Tracker, intent: str, text: str, entities: list[dict[str, Any]]) -> bool:
    """After a status was shown, "hoeveel hebben we gekregen?" or "wanneer wordt er betaald?"
    is about that application: no place, theme or ministry named, nothing about all gemeenten,
    and said of "we/ons" (or short enough to be a follow-up)."""
    if not tracker.get_slot(STATUS_CONTEXT_SLOT) or (
        intent not in followup.TOPIC_OF_INTENT and intent != "status_vervolg"
    ):
        return False
    mentions = find(kb, text, entities)
    if mentions.any_place or mentions.themes or mentions.ministries or _GENERAL_RE.search(text):
        return False
    if _OWN_RE.search(text):
        return True
    return intent in (*_SHORT_ABOUT_STATUS, "status_vervolg") and len(text.split()) <= 5


def misread(tracker: Tracker, below: float = 1.01) -> bool:
    """The NLU chose an intent (with a confidence under ``below``) for a message without one
    known word: treat it as not understood (the rephrase path), so "grmbl" gets no answer, no
    "ja" and counts as a miss."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    confidence = (message.get("intent") or {}).get("confidence") or 0.0
    return not text.startswith("/") and confidence < below and looks_like_nonsense(get_knowledge_base(), text)


class ActionAnswerFaq(KwAction):
    NAME = "action_answer_faq"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        kb = get_knowledge_base()
        if misread(tracker):
            return await ActionRephrase(self._settings).act(dispatcher, tracker)
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name", "")
        text, entities = message.get("text") or "", message.get("entities") or []
        events: list[dict[str, Any]] = []
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
        revised: str | None = None  # the knowledge-base answer that overruled the NLU's guess
        if reply is not None and confidence < SECOND_OPINION_BELOW:
            # An unsure guess that the knowledge base clearly disagrees with ("kinderen van 0 tot 4
            # jaar" read as years): the clear knowledge-base match answers instead.
            chance = second_chance(kb, text, entities)
            if chance.path == ANSWER and chance.key is not None and kb.answers[chance.key].intent != intent:
                log.info(
                    "second opinion %s",
                    json.dumps(
                        {
                            "path": REVISED,
                            "nlu": intent,
                            "confidence": round(confidence, 2),
                            "answer": chance.key,
                        },
                        ensure_ascii=False,
                    ),
                )
                reply = chance.reply
                revised = chance.key
                events.append(SlotSet(SECOND_CHANCE_SLOT, REVISED))
        await note_faq(
            self.settings,
            message,
            reply,
            revised or intent,
            revised=revised is not None,
            conversation=tracker.sender_id,
        )
        if reply is None:
            reply = helpdesk_reply(kb, texts.NO_ANSWER)
        utter(dispatcher, reply)
        answered = kb.answers[revised].intent if revised is not None else intent
        also = other_question(kb, text, answered, message.get("intent_ranking") or [])
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

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        kb = get_knowledge_base()
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if parse_aanvraagnummer(text) or (message.get("metadata") or {}).get("code_ref"):
            # Not understood, but it holds an aanvraagnummer or a verificatiecode: the status.
            return [FollowupAction("status_form")]
        if await withdraw_in_other_words(dispatcher, tracker, self.settings):
            return []  # "hoeft niet meer, ik weet het al" while a helpdesk question waits
        shown = tracker.get_slot(STATUS_CONTEXT_SLOT)
        if (
            shown
            and followup.mentions_topic(text)
            and about_status(kb, tracker, "status_vervolg", text, message.get("entities") or [])
        ):
            # "hoeveel krijgen wij?" after a status, which the NLU did not place: that status.
            from_status = followup.answer(shown, text, "", kb.unknown_offer)
            if from_status is not None:  # always, with a status shown
                utter(dispatcher, from_status)
                return [SlotSet(SECOND_CHANCE_SLOT, STATUS_PATH)]
        both = all_questions(kb, text)
        if both:  # "Wat was de deadline? En hoeveel geld is er?": each clear half its answer
            for intent, part in both:
                half = answer_for(kb, intent, part)
                if half is not None:  # always: each half matched an answer of the knowledge base
                    utter(dispatcher, half)
            return [SlotSet(SECOND_CHANCE_SLOT, ANSWER)]
        chance = second_chance(kb, text, message.get("entities") or [])
        near = near_miss(kb, message, chance)
        if near is not None and chance.path not in ANSWERED:
            # Just under the NLU's threshold, and the search agrees: "mag het geld in 2031 nog op?"
            reply = answer_for(kb, near, text, message.get("entities") or [])
            if reply is not None:
                await note_rephrase(self.settings, message, chance, reply, conversation=tracker.sender_id)
                utter(dispatcher, reply)
                return [SlotSet(SECOND_CHANCE_SLOT, ANSWER), SlotSet(TOPIC_SLOT, near)]
        misunderstood = consecutive_fallbacks(
            tracker.events, (*ANSWERED, STATUS_PATH), lambda said: looks_like_nonsense(kb, said)
        )
        topic = tracker.get_slot(TOPIC_SLOT)
        reply = None  # the place, answer and choices paths always carry a reply
        if chance.path == PLACE and topic in PLACE_TOPICS:
            # "en voor Rotterdam?" after an amount or inhabitants answer: the same topic.
            reply = answer_for(kb, topic, text, message.get("entities") or []) or chance.reply
        elif chance.path in ANSWERED:
            reply = chance.reply
        elif chance.path == CHOICES and chance.reply is not None and misunderstood < 3:
            reply = choices_reply(kb, chance.reply)
        if reply is None:
            reply = rephrase_reply(
                kb, message.get("intent_ranking") or [], misunderstood, helpdesk_shown(tracker.events, kb)
            )
        # Which path answered; never the message (logs carry no message text: docs/operations.md,
        # "Logs"; the editors read the questions in the insights report).
        log.info(
            "second chance %s",
            json.dumps(
                {
                    "path": chance.path,
                    "answer": chance.key,
                    "misunderstood": misunderstood,
                    "candidates": [[k, round(s, 2)] for k, s in chance.candidates],
                },
                ensure_ascii=False,
            ),
        )
        await note_rephrase(self.settings, message, chance, reply, conversation=tracker.sender_id)
        utter(dispatcher, reply)
        return [SlotSet(SECOND_CHANCE_SLOT, chance.path)]
