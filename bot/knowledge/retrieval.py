"""A second chance before "ik begrijp je niet": retrieval over the knowledge base.

When the NLU is not confident, the message is matched with BM25 against a small document per
answer (its button title, its keywords and the example questions of its intent in data/nlu) and
against the gemeente/area tables. One clear winner is answered; close candidates are offered as
"Bedoel je …?" buttons; a gemeente or area name on its own gets the area answer. The other
intents (small talk, a person, out of scope) have documents too, so a message that looks most
like one of them gets no answer from here. Pure functions over the knowledge base: the action
only logs which path answered.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.masking import mask_text
from bot.core.reply import Reply
from bot.knowledge.loader import KnowledgeBase, normalise
from bot.knowledge.places import find, remove_word
from bot.knowledge.render import answer_button, answer_for
from bot.settings import ROOT

NLU_DIR = ROOT / "data" / "nlu"
# Paths, as logged and stored for the editors.
PLACE, ANSWER, CHOICES, NONE = "plaats", "kennisbank", "keuze", "geen"
ANSWERED = (PLACE, ANSWER)
PLACE_KEYS = ("gebieden", "wie_aanvragen", "inwoners")
MIN_SCORE = 4.0  # below this nothing is similar enough to offer
CLEAR_RATIO = 1.3  # the best must beat the second by this factor to be answered directly
MAX_CHOICES = 3
CHOICE_SHARE = 0.7  # a candidate is offered when it scores at least this share of the best

STOPWORDS = frozenset(
    """de het een en of van voor in op aan met bij uit over naar om te tot is
    zijn was waren ben bent wordt worden word kan kun kunnen mag mogen moet moeten wil willen
    ik je jij u we wij ze zij hij het dit dat die deze er hier daar wat wie waar hoe welk welke
    wanneer waarom niet geen ook nog al wel dan als maar zo even eens graag toch nou
    eigenlijk precies ons onze mijn jullie jouw uw me mij hun haar zich iets alles heb hebt heeft
    hebben had gaat gaan doe doet doen the what is how when where does do can i we our a an of
    to for spuk kansrijke wijk regeling uitkering subsidie mensen""".split()
)


def tokens(text: str) -> list[str]:
    """Lower-case content words with a light Dutch suffix strip (aanvragen ~ aanvraag)."""
    out = []
    text = re.sub(r"\[[^\]]*\]", " ", text or "")  # the gateway's placeholders: [e-mailadres] …
    for word in re.findall(r"[a-z0-9']+", normalise(text)):
        if word in STOPWORDS or len(word) < 2:
            continue
        for suffix in ("ingen", "en", "s", "e"):
            if len(word) > len(suffix) + 4 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word.replace("aa", "a"))
    return out


class BM25:
    """Okapi BM25 over a few dozen documents (one per answer or other intent)."""

    def __init__(self, docs: Sequence[list[str]], k1: float = 1.2, b: float = 0.5):
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avg = sum(self.len) / max(1, len(docs))
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        result = []
        for tf, length in zip(self.tf, self.len, strict=False):
            norm = self.k1 * (1 - self.b + self.b * length / self.avg)
            result.append(sum(self.idf.get(t, 0.0) * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in query if t in tf))
        return result


def training_examples(nlu_dir: Path = NLU_DIR) -> dict[str, list[str]]:
    """intent -> its example sentences in data/nlu, entity annotations removed."""
    found: dict[str, list[str]] = {}
    for path in sorted(nlu_dir.rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                for line in str(block.get("examples", "")).splitlines():
                    if line.strip().startswith("- "):
                        plain = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
                        found.setdefault(block["intent"], []).append(plain)
    return found


@dataclass
class Index:
    keys: list[str]
    bm25: BM25
    #: Words of place names, left out of the documents and the questions alike.
    places: frozenset[str] = frozenset()


def _keywords(kb: KnowledgeBase, key: str) -> list[str]:
    answer = kb.answers[key]
    words = [answer.button, *answer.keywords]
    if answer.intent == "faq_themas":
        words += [t.name for t in kb.themes if not t.budget] + [a for t in kb.themes for a in t.aliases]
    if answer.intent == "faq_bijdrage_ministerie":
        words += [m.name for m in kb.ministries]
    return words


# Intents that are no knowledge-base answer (asking for a person, small talk, out of scope) get
# a document too: when one of them matches best, the message is not about the regeling and the
# second chance stays silent instead of answering something else.
OTHER_PREFIX = "intent:"


def _place_tokens(kb: KnowledgeBase) -> frozenset[str]:
    """The words of the gemeente and area names and of compass points."""
    names = [n for g in kb.gemeenten for n in (g.name, *g.aliases)]
    names += [n for a in kb.areas for n in (a.name, *a.aliases)]
    names += ["noord", "oost", "zuid", "west", "noordoost", "noordwest", "zuidoost", "zuidwest"]
    return frozenset(t for n in names for t in tokens(n))


def build_index(kb: KnowledgeBase, examples: dict[str, list[str]] | None = None) -> Index:
    examples = training_examples() if examples is None else examples
    # Place names in an intent's examples say nothing about the need ("ik woon in Rotterdam"
    # in the residents' examples pulled every question that names Rotterdam); the place
    # answers come from the tables, not from these documents.
    places = _place_tokens(kb)
    keys, docs = [], []
    for key, answer in kb.answers.items():
        doc = []
        for phrase in _keywords(kb, key):
            doc += tokens(phrase) * 2  # the editor's own words count double
        for sentence in examples.get(answer.intent, []):
            doc += [t for t in tokens(sentence) if t not in places]
        keys.append(key)
        docs.append(doc)
    faq_intents = {a.intent for a in kb.answers.values()}
    for intent, sentences in sorted(examples.items()):
        if intent not in faq_intents and intent not in ("inform_aanvraagnummer",):
            keys.append(OTHER_PREFIX + intent)
            docs.append([t for sentence in sentences for t in tokens(sentence) if t not in places])
    return Index(keys, BM25(docs), places)


_indexes: dict[int, Index] = {}


def index_for(kb: KnowledgeBase) -> Index:
    """The index of this knowledge base, built once per process (like the knowledge base)."""
    if id(kb) not in _indexes:
        _indexes.clear()
        _indexes[id(kb)] = build_index(kb)
    return _indexes[id(kb)]


def ranked(kb: KnowledgeBase, text: str, index: Index | None = None) -> list[tuple[str, float]]:
    index = index or index_for(kb)
    # An e-mail address or phone number says nothing about the need, but its parts ("example",
    # "nl") would match answers whose examples contain addresses.
    scores = index.bm25.scores([t for t in tokens(mask_text(text)) if t not in index.places])
    return sorted(((k, s) for k, s in zip(index.keys, scores, strict=False) if s > 0), key=lambda p: -p[1])


@dataclass
class SecondChance:
    path: str  # PLACE, ANSWER, CHOICES or NONE
    reply: Reply | None = None  # None for NONE: the caller asks to rephrase
    key: str | None = None  # the answer given (PLACE, ANSWER)
    candidates: list[tuple[str, float]] = field(default_factory=list)


def _place_names(kb: KnowledgeBase, text: str) -> list[str]:
    names = [n for g in kb.gemeenten for n in (normalise(g.name), *g.aliases)]
    names += [n for a in kb.areas for n in (normalise(a.name), *a.aliases)]
    return names + [normalise(p) for p in find(kb, text).others]


def _without_places(kb: KnowledgeBase, text: str) -> str:
    rest = f" {normalise(text)} "
    for name in sorted(_place_names(kb, text), key=len, reverse=True):
        rest = remove_word(rest, name)
    return rest


def _only_places(kb: KnowledgeBase, text: str) -> bool:
    """The message is a place name and little else: "Arnhem?", "en Lelystad", "Overvecht dan"."""
    if not find(kb, text).any_place:
        return False
    rest = _without_places(kb, text)
    filler = {
        "dan",
        "en",
        "of",
        "eens",
        "zit",
        "met",
        "hoe",
        "wat",
        "over",
        "ook",
        "nou",
        "de",
        "het",
        "in",
        "voor",
        "bij",
        "gemeente",
        "gebied",
        "wijk",
        "stad",
        "the",
        "about",
        "and",
    }
    return all(w in filler for w in re.findall(r"[a-z0-9']+", rest))


def _about_areas(kb: KnowledgeBase, text: str, index: Index | None) -> bool:
    """Without its place names, the message still looks most like a question about areas."""
    rest = _without_places(kb, text)
    best = ranked(kb, rest, index)[:1]
    return bool(best) and best[0][0] in PLACE_KEYS


def second_chance(
    kb: KnowledgeBase, text: str, entities: Iterable[dict[str, Any]] | None = None, index: Index | None = None
) -> SecondChance:
    """What to do with a message the NLU did not understand well enough."""
    if not (text or "").strip() or text.strip().startswith("/"):
        return SecondChance(NONE)
    if _only_places(kb, text):
        return SecondChance(PLACE, answer_for(kb, "faq_gebieden", text, entities), "gebieden")
    candidates = ranked(kb, text, index)[:MAX_CHOICES]
    if not candidates or candidates[0][1] < MIN_SCORE:
        if find(kb, text, entities).any_place and _about_areas(kb, text, index):
            # Weakly about areas, and a place is named: what we know about it beats "begrijp je
            # niet". (Not for any place: "het weer in Utrecht" is no question about areas.)
            return SecondChance(PLACE, answer_for(kb, "faq_gebieden", text, entities), "gebieden", candidates)
        return SecondChance(NONE, candidates=candidates)
    best, score = candidates[0]
    if best.startswith(OTHER_PREFIX):
        return SecondChance(NONE, candidates=candidates)
    runner_up = candidates[1][1] if len(candidates) > 1 else 0.0
    # A message that is, word for word, the question of an answer's button ("Voor welke jaren is
    # het geld?") gets that answer, even when its words alone are a close call.
    asked = _button_asked(kb, text, candidates)
    if asked is not None or score >= CLEAR_RATIO * runner_up:
        key = asked or best
        return SecondChance(ANSWER, answer_for(kb, kb.answers[key].intent, text, entities), key, candidates)
    options = [k for k, s in candidates if s >= CHOICE_SHARE * score and not k.startswith(OTHER_PREFIX)]
    reply = Reply("Bedoel je een van deze vragen?", tuple(answer_button(kb, k) for k in options))
    return SecondChance(CHOICES, reply, None, candidates)


def _button_asked(kb: KnowledgeBase, text: str, candidates: list[tuple[str, float]]) -> str | None:
    """The candidate whose button question is the message itself (case and punctuation aside)."""
    asked = normalise(text)
    return next(
        (key for key, _ in candidates if key in kb.answers and normalise(kb.answers[key].button) == asked), None
    )


_vocabularies: dict[int, frozenset[str]] = {}


def vocabulary(kb: KnowledgeBase) -> frozenset[str]:
    """Every word the assistant knows: of the training examples, the keywords and the places."""
    vocab = _vocabularies.get(id(kb))
    if vocab is None:
        words = set()
        for key in kb.answers:
            for phrase in _keywords(kb, key):
                words.update(tokens(phrase))
        for sentences in training_examples().values():
            for sentence in sentences:
                words.update(tokens(sentence))
        vocab = _vocabularies[id(kb)] = frozenset(words)
    return vocab


def looks_like_nonsense(kb: KnowledgeBase, text: str) -> bool:
    """A short message without one word the assistant knows ("grmbl fnaaf"): whatever the NLU
    made of it, it was not understood. Numbers, codes and place names are never nonsense."""
    if not text or any(c.isdigit() for c in text) or "[" in text or len(text.split()) > 6:
        return False
    content = tokens(text)
    if not content or find(kb, text).any_place:
        return False
    return not set(content) & vocabulary(kb)
