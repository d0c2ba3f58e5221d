"""Every fact FACTS.md marks as NOT known has a test question, and its answer says plainly that
it is not known and offers the helpdesk (the same questions go through the whole stack in
tests/integration/test_unknowns.py)."""

import re

import pytest
import yaml

from bot.core.reply import HANDOFF_BUTTON
from bot.knowledge.loader import get_knowledge_base, says_unknown
from bot.settings import ROOT
from tests.fixtures.knowledge import reply_to

FACTS = ROOT.parent / "shared" / "domain" / "FACTS.md"
QUESTIONS = yaml.safe_load((ROOT / "tests" / "data" / "unknowns.yml").read_text(encoding="utf-8"))
# The [?] lines outside the numbered list, by a phrase of each, and the question group that
# covers them. A new [?] line in FACTS.md fails the test below until it is added here.
INLINE_UNKNOWNS = {
    "Exact boundaries": "grenzen",
    "the figures themselves are [?]": 2,
    "[?] for 2026-2028": 3,
    "whether it still applies": "contact",
    "No 2026-2028 helpdesk": "contact",
}


def numbered_unknowns():
    text = FACTS.read_text(encoding="utf-8")
    section = text.split("## NOT known", 1)[1].split("\n## ", 1)[0]
    return [int(n) for n in re.findall(r"^(\d+)\. ", section, flags=re.M)]


def inline_unknown_lines():
    text = FACTS.read_text(encoding="utf-8").split("## NOT known", 1)[0]
    return [line for line in text.splitlines() if "[?]" in line and not line.startswith("- **[?]**")]


def test_every_numbered_unknown_has_a_question():
    numbers = numbered_unknowns()
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 7
    covered = {item["fact"] for item in QUESTIONS}
    assert set(numbers) <= covered, sorted(set(numbers) - covered)


def test_every_inline_unknown_is_mapped_to_a_question():
    covered = {item["fact"] for item in QUESTIONS}
    for line in inline_unknown_lines():
        phrase = next((p for p in INLINE_UNKNOWNS if p in line), None)
        assert phrase is not None, f"FACTS.md has a [?] line without a test question: {line}"
        assert INLINE_UNKNOWNS[phrase] in covered, line


@pytest.mark.parametrize("item", QUESTIONS, ids=[q["q"] for q in QUESTIONS])
def test_unknown_is_said_plainly_with_the_helpdesk(item):
    kb = get_knowledge_base()
    reply = reply_to(kb, item["intent"], item["q"])
    body = reply.text
    assert says_unknown(body), body
    assert kb.unknown_offer in body
    assert HANDOFF_BUTTON in reply.buttons and reply.sources
