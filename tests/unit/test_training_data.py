"""Knowledge base, domain, NLU data and rules agree: every answer is reachable and every
intent the NLU can select has an answer."""

import itertools
import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge.loader import get_knowledge_base
from bot.settings import ROOT


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@pytest.fixture(scope="module")
def nlu_intents():
    counts: dict[str, int] = {}
    for path in (ROOT / "data" / "nlu").rglob("*.yml"):
        for block in load_yaml(path).get("nlu", []):
            if "intent" in block:
                n = len([line for line in block["examples"].splitlines() if line.strip().startswith("- ")])
                counts[block["intent"]] = counts.get(block["intent"], 0) + n
    return counts


@pytest.fixture(scope="module")
def domain():
    return load_yaml(ROOT / "domain.yml")


@pytest.fixture(scope="module")
def rules():
    pairs = []
    for path in (ROOT / "data" / "stories").rglob("*.yml"):
        for rule in load_yaml(path).get("rules", []):
            steps = rule["steps"]
            for a, b in itertools.pairwise(steps):
                if "intent" in a and "action" in b:
                    pairs.append((a["intent"], b["action"]))
    return pairs


def test_every_answer_has_an_intent_with_training_data(nlu_intents):
    kb = get_knowledge_base()
    for answer in kb.answers.values():
        assert nlu_intents.get(answer.intent, 0) >= 20, f"{answer.intent} needs training examples"


def test_every_faq_intent_the_nlu_knows_has_an_answer(nlu_intents, domain):
    kb = get_knowledge_base()
    faq_intents = {i for i in list(nlu_intents) + list(domain["intents"]) if i.startswith("faq_")}
    assert faq_intents == set(kb.by_intent)


def test_every_faq_intent_is_answered_by_the_faq_action(rules):
    kb = get_knowledge_base()
    answered = {intent for intent, action in rules if action == "action_answer_faq" and intent.startswith("faq_")}
    assert answered == set(kb.by_intent)


def test_domain_lists_exactly_the_trained_intents(nlu_intents, domain):
    assert set(domain["intents"]) == set(nlu_intents)


@pytest.mark.parametrize("name, minimum", [("test_nlu.yml", 150), ("test_nlu_unseen.yml", 200)])
def test_held_out_test_set_shares_no_sentence_with_training(name, minimum):
    def sentences(path):
        out = set()
        for block in load_yaml(path).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    plain = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
                    out.add(re.sub(r"\W+", " ", plain).strip().lower())
        return out

    train = set().union(*(sentences(p) for p in (ROOT / "data" / "nlu").rglob("*.yml")))
    test = sentences(ROOT / "tests" / "nlu" / name)
    assert len(test) >= minimum
    assert not (train & test), sorted(train & test)[:10]


def test_every_button_to_a_person_is_the_one_handoff_button(domain):
    """domain.yml cannot import it, so it must spell it the same way (bot/core/reply.py)."""
    from bot.core.reply import HANDOFF_BUTTON
    from bot.web.protocol import STARTERS

    handoff = [
        b
        for variants in domain["responses"].values()
        for v in variants
        for b in v.get("buttons", [])
        if b["payload"].startswith(HANDOFF_BUTTON.payload)
    ]
    assert handoff and all(b == HANDOFF_BUTTON.as_dict() for b in handoff)
    assert HANDOFF_BUTTON.as_dict() in STARTERS


def test_the_two_held_out_sets_do_not_overlap():
    def plain(name):
        out = set()
        for block in load_yaml(ROOT / "tests" / "nlu" / name).get("nlu", []):
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    plain = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line.strip()[2:])  # [text](entity) -> text
                    out.add(re.sub(r"\W+", " ", plain).strip().lower())
        return out

    assert not (plain("test_nlu.yml") & plain("test_nlu_unseen.yml"))
