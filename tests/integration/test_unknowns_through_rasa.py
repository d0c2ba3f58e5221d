"""The NOT-known facts of FACTS.md through the real stack: NLU, dialogue and the FAQ action.
Each answer says plainly that the fact is not known and offers the helpdesk."""

import pytest
import yaml

from bot.core.reply import HANDOFF_BUTTON
from bot.knowledge.loader import says_unknown
from bot.settings import ROOT

QUESTIONS = yaml.safe_load((ROOT / "tests" / "data" / "unknowns.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("item", QUESTIONS, ids=[q["q"] for q in QUESTIONS])
def test_unknown_fact_through_the_stack(rasa_stack, item):
    replies = rasa_stack.say(item["q"])
    text = "\n".join(r.get("text") or "" for r in replies)
    payloads = [b.get("payload") for r in replies for b in r.get("buttons") or []]
    assert says_unknown(text), text
    assert HANDOFF_BUTTON.payload in payloads, (text, payloads)
