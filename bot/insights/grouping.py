"""Group questions that say the same thing in other words.

Two steps: questions that are equal after normalising (lower case, accents, punctuation and
spacing folded) are one; then those whose content words overlap enough (Jaccard of their token
sets, bot.knowledge.retrieval.tokens: stop words out, a light Dutch suffix strip) join the
biggest group they fit. An inverted index keeps this near-linear for thousands of questions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.knowledge.loader import normalise
from bot.knowledge.retrieval import tokens

#: Share of content words two questions must have in common to be grouped. Above one half: "geld
#: voor een speeltuin in de buurt" and "… een bibliotheek …" (2 of 4 words) are two questions.
SIMILAR = 0.6
MAX_VARIANTS = 3


def group_key(text: str) -> str:
    """Equal keys, equal question: "Wanneer kan ik aanvragen??" ~ "wanneer kan ik aanvragen"."""
    folded = normalise(text or "")
    folded = re.sub(r"[^\w\s\[\]]+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard: shared words over all words (0 when either has no content words)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass
class Group:
    """Questions that are alike: the commonest wording, how often, when last, how it went."""

    label: str
    count: int = 0
    last: dt.datetime | None = None
    #: Other wordings in the group, commonest first (at most MAX_VARIANTS).
    variants: list[str] = field(default_factory=list)
    #: What happened, e.g. {"fallback": 3, "choices": 1} or ticket states.
    tags: Counter = field(default_factory=Counter)
    words: frozenset[str] = frozenset()

    def add(self, count: int, last: dt.datetime | None, tags: Counter) -> None:
        self.count += count
        if last is not None and (self.last is None or last > self.last):
            self.last = last
        self.tags.update(tags)


@dataclass
class _Exact:
    text: str
    count: int = 0
    last: dt.datetime | None = None
    tags: Counter = field(default_factory=Counter)
    wordings: Counter = field(default_factory=Counter)


def group_similar(
    items: Iterable[tuple[str, dt.datetime | None, str | None]], threshold: float = SIMILAR
) -> list[Group]:
    """``items``: (text, when, tag). Groups, biggest first (then most recent)."""
    exact: dict[str, _Exact] = {}
    for text, when, tag in items:
        if not text or not text.strip():
            continue
        key = group_key(text)
        if not key:
            continue
        e = exact.setdefault(key, _Exact(text.strip()))
        e.count += 1
        e.wordings[text.strip()] += 1
        if when is not None and (e.last is None or when > e.last):
            e.last = when
        if tag:
            e.tags[tag] += 1
    ordered = sorted(exact.values(), key=lambda e: (-e.count, -(e.last.timestamp() if e.last else 0)))
    groups: list[Group] = []
    by_word: dict[str, set[int]] = {}
    for e in ordered:
        label = e.wordings.most_common(1)[0][0]
        words = frozenset(tokens(label))
        best, best_score = None, 0.0
        for gi in sorted(set().union(*(by_word.get(w, set()) for w in words)) if words else ()):
            score = similarity(words, groups[gi].words)
            if score >= threshold and score > best_score:
                best, best_score = gi, score
        if best is None:
            group = Group(label=label, words=words)
            groups.append(group)
            for w in words:
                by_word.setdefault(w, set()).add(len(groups) - 1)
        else:
            group = groups[best]
            if label != group.label and label not in group.variants and len(group.variants) < MAX_VARIANTS:
                group.variants.append(label)
        group.add(e.count, e.last, e.tags)
    groups.sort(key=lambda g: (-g.count, -(g.last.timestamp() if g.last else 0)))
    return groups
