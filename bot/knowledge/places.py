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
    #: "<NPLV gemeente> <part of town>" that is not one of the 20 areas, e.g. "Utrecht Zuidwest".
    districts: List[Tuple[Gemeente, str]] = field(default_factory=list)
    #: The question is about which buurten or streets belong to an area (not published).
    asks_boundary: bool = False

    @property
    def any_place(self) -> bool:
        return bool(self.areas or self.gemeenten or self.others or self.districts)


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


@lru_cache(maxsize=None)
def _word(needle: str) -> "re.Pattern[str]":
    # Compiled once per name: every answer looks for a few hundred names and variants, more
    # than re's own cache keeps, so without this each look-up compiled its pattern anew
    # (three quarters of the action server's time under load, py-spy).
    return re.compile(rf"(?<![\w']){re.escape(needle)}(?![\w])")


def _contains(haystack: str, needle: str) -> bool:
    # The plain substring test first: a word match needs it, most of the few thousand names
    # are not in the message at all, and ``in`` costs a fraction of the regex search.
    return bool(needle) and needle in haystack and _word(needle).search(haystack) is not None


def remove_word(haystack: str, needle: str) -> str:
    """``haystack`` without ``needle`` where it stands as a word of its own."""
    return _word(needle).sub(" ", haystack)


# Parts of town that follow a gemeente's name ("Rotterdam West"); together with that name they
# are not one of the 20 areas unless the areas table says so.
COMPASS = ("noordoost", "noordwest", "zuidoost", "zuidwest", "noord", "oost", "zuid", "west",
           "centrum", "nieuw west")
BOUNDARY_WORDS = ("buurt", "buurten", "straat", "straten", "postcode", "postcodes", "grens",
                  "grenzen", "wijkgrens", "wijkgrenzen", "adres", "welke wijken horen")


# A named buurt or street ("Afrikaanderwijk", "Vreewijkstraat") that is not in the tables.
STREETLIKE = re.compile(
    r"\b(?!(?:kansrijke|focus|probleem|achterstands|kracht|nplv|aandachts)(?:wijk|buurt))"
    r"\w+(?:wijk|buurt|straat|laan|weg|plein|kwartier|singel)\b")


def _is_short(alias: str, gemeente: Gemeente) -> bool:
    """An alias without its gemeente's name ("zuidwest", "westwijk"): other towns have such
    parts too ("Utrecht Zuidwest", "Amstelveen Westwijk"), so it only counts in context."""
    names = [normalise(gemeente.name), *gemeente.aliases]
    return not any(len(n) >= 4 and n in alias for n in names)


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


def _short_aliases(kb: KnowledgeBase) -> Dict[str, Area]:
    return {alias: a for g in kb.gemeenten for a in g.areas for alias in a.aliases
            if _is_short(alias, g)}


@dataclass(frozen=True)
class _Tables:
    """What ``find`` looks for, worked out once per knowledge base (it was on every call:
    sorting a few thousand names per answer, py-spy under load)."""
    index: List[Tuple[str, object]]
    short: Dict[str, Area]
    gemeente_of: Dict[str, Gemeente]
    gemeente_names: List[Tuple[str, Gemeente]]
    district_words: List[str]
    short_longest_first: List[Tuple[str, Area]]


def _tables(kb: KnowledgeBase) -> _Tables:
    # Kept on the knowledge base, with the tuples it was made from: a knowledge base whose
    # lists were replaced gets new tables.
    made_from = (kb.gemeenten, kb.themes, kb.ministries)
    kept = kb.__dict__.get("_kw_place_tables")
    if kept is not None and all(a is b for a, b in zip(kept[0], made_from)):
        return kept[1]
    short = _short_aliases(kb)
    tables = _Tables(
        index=_index(kb), short=short, gemeente_of={g.name: g for g in kb.gemeenten},
        gemeente_names=sorted(((n, g) for g in kb.gemeenten for n in (normalise(g.name), *g.aliases)),
                              key=lambda p: -len(p[0])),
        district_words=sorted(set(COMPASS) | set(short), key=len, reverse=True),
        short_longest_first=sorted(short.items(), key=lambda p: -len(p[0])))
    kb.__dict__["_kw_place_tables"] = (made_from, tables)
    return tables


@lru_cache(maxsize=4)
def _places_longest_first(path: Path = PLACES_FILE) -> List[str]:
    return sorted(other_places(path), key=len, reverse=True)


def _add(m: Mentions, obj: object) -> None:
    target = {Area: m.areas, Gemeente: m.gemeenten, Theme: m.themes, Ministry: m.ministries}[type(obj)]
    if obj not in target:
        target.append(obj)


# Which kinds of knowledge-base object an NLU entity may name.
ENTITY_KINDS = {"gemeente": (Area, Gemeente), "gebied": (Area, Gemeente), "plaats": (Area, Gemeente),
                "thema": (Theme,), "ministerie": (Ministry,)}


def _raw_span(text: str, ent: dict) -> Optional[str]:
    start, end = ent.get("start"), ent.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text or ""):
        return text[start:end]
    return None


def find(kb: KnowledgeBase, text: str, entities: Optional[Iterable[dict]] = None) -> Mentions:
    mentions = Mentions()
    tables = _tables(kb)
    index, short, gemeente_of = tables.index, tables.short, tables.gemeente_of
    places = other_places()
    for ent in entities or []:
        value = normalise(str(ent.get("value") or ""))
        raw = _raw_span(text, ent)
        if not value or (raw is not None and normalise(raw) in short):
            continue  # a bare part of town: decided below, from the text around it
        kinds = ENTITY_KINDS.get(ent.get("entity"), (Area, Gemeente, Theme, Ministry))
        match = next((obj for name, obj in index if name == value and isinstance(obj, kinds)), None)
        if match is not None:
            _add(mentions, match)
        elif ent.get("entity") in ("plaats", "gemeente", "gebied") and value in places:
            if places[value] not in mentions.others:
                mentions.others.append(places[value])
    norm = f" {normalise(text or '')} "
    rest = norm
    for name, obj in index:
        if name in short:
            continue
        if _contains(rest, name):
            _add(mentions, obj)
            rest = remove_word(rest, name)
    for variant in _places_longest_first():
        if _contains(rest, variant) and places[variant] not in mentions.others:
            mentions.others.append(places[variant])
            rest = remove_word(rest, variant)
    # "<gemeente> <part of town>" that is no area: a district of that gemeente, not an alias.
    gemeente_names = tables.gemeente_names
    for name, g in gemeente_names:
        for word in tables.district_words:
            phrase = f"{name} {word}"
            if _contains(norm, phrase) and _contains(rest, word):
                label = f"{g.name} " + " ".join(w.capitalize() for w in word.split())
                if all(d[1] != label for d in mentions.districts):
                    mentions.districts.append((g, label))
                rest = remove_word(rest, word)
    # A bare part of town counts for its own area, unless another town's name comes right
    # before it ("Amstelveen Westwijk"; NPLV gemeenten were handled as districts above).
    town_names = [n for n, _ in gemeente_names] + list(places)
    for alias, area in tables.short_longest_first:
        if not _contains(rest, alias):
            continue
        owner = gemeente_of[area.gemeente]
        qualified = [n for n in town_names if _contains(norm, f"{n} {alias}")]
        if not qualified or any(gemeente_of.get(places.get(n, "")) is owner for n in qualified):
            _add(mentions, area)
        rest = remove_word(rest, alias)
    # A gemeente that is only named as part of one of its areas is not a separate mention.
    mentions.gemeenten = [g for g in mentions.gemeenten
                          if not any(a.gemeente == g.name for a in mentions.areas)
                          or any(d[0] is g for d in mentions.districts)]
    mentions.asks_boundary = (any(_contains(norm, w) for w in BOUNDARY_WORDS)
                              or STREETLIKE.search(rest) is not None)
    return mentions
