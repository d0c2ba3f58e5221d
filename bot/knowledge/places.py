"""Recognise gemeenten, areas, themes, ministries and other Dutch places in what a user typed.

NLU entities come first; scanning the message text against the knowledge base's names and
aliases is the safety net for names the model missed, so a parameterised answer does not
depend on entity extraction alone. Other Dutch places come from the NLU lookup table
(data/nlu/lookups/plaatsen.yml), the one list of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

from bot.knowledge.loader import Area, Gemeente, KnowledgeBase, Ministry, Theme, normalise
from bot.settings import ROOT

PLACES_FILE = ROOT / "data" / "nlu" / "lookups" / "plaatsen.yml"


@dataclass
class Mentions:
    areas: List[Area] = field(default_factory=list)
    gemeenten: List[Gemeente] = field(default_factory=list)
    others: List[str] = field(default_factory=list)  # Dutch places without an NPLV area
    themes: List[Theme] = field(default_factory=list)
    ministries: List[Ministry] = field(default_factory=list)

    @property
    def any_place(self) -> bool:
        return bool(self.areas or self.gemeenten or self.others)


@lru_cache(maxsize=4)
def other_places(path: Path = PLACES_FILE) -> Dict[str, str]:
    """normalised variant -> official name, for Dutch places that have no NPLV area."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names: Dict[str, str] = {}
    for block in data.get("nlu", []):
        if block.get("lookup") == "plaats":
            for line in str(block.get("examples", "")).splitlines():
                name = line.strip().lstrip("-").strip()
                if name:
                    names.setdefault(normalise(name), name)
    for block in data.get("nlu", []):
        canonical = block.get("synonym")
        if canonical:
            for line in str(block.get("examples", "")).splitlines():
                variant = line.strip().lstrip("-").strip()
                if variant:
                    names[normalise(variant)] = canonical
            names.setdefault(normalise(canonical), canonical)
    return names


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and re.search(rf"(?<![\w']){re.escape(needle)}(?![\w])", haystack) is not None


def _index(kb: KnowledgeBase) -> List[Tuple[str, object]]:
    """(normalised name, object) pairs, longest names first so 'Rotterdam-Zuid' beats 'Rotterdam'."""
    pairs: List[Tuple[str, object]] = []
    for g in kb.gemeenten:
        for a in g.areas:
            pairs += [(normalise(a.name), a)] + [(alias, a) for alias in a.aliases]
        pairs += [(normalise(g.name), g)] + [(alias, g) for alias in g.aliases]
    for t in kb.themes:
        pairs += [(normalise(t.name), t)] + [(alias, t) for alias in t.aliases]
    for m in kb.ministries:
        pairs += [(normalise(m.key), m)] + [(alias, m) for alias in m.aliases]
    return sorted(pairs, key=lambda p: -len(p[0]))


def _add(m: Mentions, obj: object) -> None:
    target = {Area: m.areas, Gemeente: m.gemeenten, Theme: m.themes, Ministry: m.ministries}[type(obj)]
    if obj not in target:
        target.append(obj)


def find(kb: KnowledgeBase, text: str, entities: Optional[Iterable[dict]] = None) -> Mentions:
    mentions = Mentions()
    index = _index(kb)
    lookup = dict((name, obj) for name, obj in reversed(index))
    places = other_places()
    for ent in entities or []:
        value = normalise(str(ent.get("value") or ""))
        if not value:
            continue
        if value in lookup:
            _add(mentions, lookup[value])
        elif ent.get("entity") in ("plaats", "gemeente", "gebied") and value in places:
            if places[value] not in mentions.others:
                mentions.others.append(places[value])
    rest = f" {normalise(text or '')} "
    for name, obj in index:
        if _contains(rest, name):
            _add(mentions, obj)
            rest = re.sub(rf"(?<![\w']){re.escape(name)}(?![\w])", " ", rest)
    for variant in sorted(places, key=len, reverse=True):
        if _contains(rest, variant) and places[variant] not in mentions.others:
            mentions.others.append(places[variant])
            rest = rest.replace(variant, " ")
    # A gemeente that is only named as part of one of its areas is not a separate mention.
    mentions.gemeenten = [g for g in mentions.gemeenten
                          if not any(a.gemeente == g.name for a in mentions.areas)]
    return mentions
