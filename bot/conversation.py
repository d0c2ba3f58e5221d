"""Dialogue decisions that need no Rasa: fallback counting and rephrase suggestions.

Kept apart from actions/ so they are unit-testable with plain event lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bot import texts
from bot.core.reply import HANDOFF_BUTTON, Button, Reply
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.render import answer_button, helpdesk_reply

FALLBACK_INTENT = "nlu_fallback"
DEFAULT_SUGGESTIONS = ("wat_is", "themas", "gebieden")
#: The slot in which action_rephrase records which second-chance path answered a fallback turn.
SECOND_CHANCE_SLOT = "tweede_kans"


def consecutive_fallbacks(
    events: Iterable[dict], answered: Sequence[str] = (), misread: Callable[[str], bool] = lambda text: False
) -> int:
    """How many of the latest user messages in a row were not understood (incl. the last one).

    A fallback turn that the second chance answered (its slot event carries one of `answered`)
    was understood after all, so it ends the run like any other understood turn.
    """
    count = 0
    turn_answered = False
    for event in reversed(list(events)):
        if event.get("event") == "slot" and event.get("name") == SECOND_CHANCE_SLOT and event.get("value") in answered:
            turn_answered = True
            continue
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        missed = intent.get("name") == FALLBACK_INTENT or misread(event.get("text") or "")
        if not missed or turn_answered:
            break
        count += 1
    return count


def suggestions(kb: KnowledgeBase, ranking: Sequence[dict], limit: int = 3) -> tuple[Button, ...]:
    """Buttons for the knowledge-base answers the model thought most likely."""
    keys: list[str] = []
    for item in ranking:
        answer = kb.by_intent.get(item.get("name", ""))
        if answer and answer.key not in keys:
            keys.append(answer.key)
    for key in DEFAULT_SUGGESTIONS:
        if len(keys) >= limit:
            break
        if key not in keys:
            keys.append(key)
    return tuple(answer_button(kb, k) for k in keys[:limit])


def choices_reply(kb: KnowledgeBase, choices: Reply) -> Reply:
    """Close candidates from the second chance, offered as "Bedoel je …?" buttons."""
    text = "Ik weet niet zeker wat je bedoelt. Bedoel je een van deze vragen?"
    return Reply(text, tuple(choices.buttons))


def helpdesk_shown(events: Iterable[dict], kb: KnowledgeBase) -> bool:
    """Whether the full helpdesk text was already shown in this conversation."""
    return any(e.get("event") == "bot" and kb.helpdesk.text in (e.get("text") or "") for e in events)


def rephrase_reply(
    kb: KnowledgeBase, ranking: Sequence[dict], misunderstood: int, helpdesk_seen: bool = False
) -> Reply:
    """Escalating: first ask to rephrase, then suggest topics, then offer the helpdesk (its full
    text only once per conversation)."""
    if misunderstood <= 1:
        return Reply(texts.NOT_UNDERSTOOD_FIRST)
    if misunderstood == 2:
        return Reply(texts.NOT_UNDERSTOOD, suggestions(kb, ranking))
    if helpdesk_seen:
        return Reply(texts.NOT_UNDERSTOOD_SHORT, (HANDOFF_BUTTON,))
    return helpdesk_reply(kb, texts.NOT_UNDERSTOOD_AGAIN, handoff=True)
