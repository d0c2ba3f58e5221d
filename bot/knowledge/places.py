"""Recognise gemeenten, areas, themes, ministries and other Dutch places in what a user typed.

NLU entities come first; scanning the message text against the knowledge base's names and
aliases is the safety net for names the model missed, so a parameterised answer does not
depend on entity extraction alone. Other Dutch places come from the CBS list of all 342
gemeenten (gemeenten_nl.txt, next to this file) and the NLU lookup table
(data/nlu/lookups/plaatsen.yml, which adds spellings and towns inside a gemeente).

A part of town that is no area's own name ("Tilburg Reeshof", "de Schilderswijk in Den Haag")
is a *district* (found by bot/knowledge/districts.py): the answer names the gemeente's area and
says that whether the district belongs to it is not in the sources (FACTS lists the areas, not
their boundaries).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.districts import (
    COMPASS_MARK,
    DISTRICT_NOUNS,
    STREETLIKE,
    named_districts,
    same_district,
    unplaced_districts,
)
from bot.knowledge.loader import Area, Gemeente, KnowledgeBase, Ministry, Theme, normalise
from bot.settings import ROOT

PLACES_FILE = ROOT / "data" / "nlu" / "lookups" / "plaatsen.yml"
GEMEENTEN_FILE = Path(__file__).with_name("gemeenten_nl.txt")


@dataclass
class Mentions:
    areas: list[Area] = field(default_factory=list)
    gemeenten: list[Gemeente] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # Dutch places without an NPLV area
    themes: list[Theme] = field(default_factory=list)
    ministries: list[Ministry] = field(default_factory=list)
    #: "<NPLV gemeente> <part of town>" that is not one of the 20 areas, e.g. "Utrecht Zuidwest",
    #: "Tilburg Reeshof", or "Schilderswijk" from "de Schilderswijk in Den Haag".
    districts: list[tuple[Gemeente, str]] = field(default_factory=list)
    #: The question is about which buurten or streets belong to an area (not published).
    asks_boundary: bool = False
    #: A part of town named without its gemeente ("de wijk Kanaleneiland").
    unplaced: list[str] = field(default_factory=list)

    @property
    def any_place(self) -> bool:
        return bool(self.areas or self.gemeenten or self.others or self.districts)


@lru_cache(maxsize=4)
def other_places(path: Path = PLACES_FILE) -> dict[str, str]:
    """normalised variant -> official name, for Dutch places that have no NPLV area."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names: dict[str, str] = {}
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


@lru_cache(maxsize=4)
def national_gemeenten(path: Path = GEMEENTEN_FILE) -> dict[str, str]:
    """normalised variant -> name, for every gemeente of the Netherlands (CBS list)."""
    names: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        names.setdefault(normalise(name), name)
        plain = re.sub(r"\s*\(.*?\)\s*", " ", name).strip()  # "Bergen (L.)" -> "Bergen"
        if plain != name:
            names.setdefault(normalise(plain), plain)
        if "," in name:  # "Nuenen, Gerwen en Nederwetten" -> "Nuenen"
            names.setdefault(normalise(name.split(",")[0]), name)
    return names


# Gemeenten whose name is also an everyday word ("Best", "Huizen", "Buren", "Leiden"): they
# count as a place only when written with a capital inside a sentence, or after "gemeente".
COMMON_WORD_PLACES = frozenset(
    """best beek buren putten duiven huizen kampen laren sluis goes
    stein borne bergen leiden weert assen losser kapelle hulst epe ede""".split()
)


def _as_place(raw: str, variant: str) -> bool:
    if variant not in COMMON_WORD_PLACES:
        return True
    if re.search(rf"\bgemeente\s+{re.escape(variant)}\b", normalise(raw)):
        return True
    for hit in re.finditer(rf"\b{re.escape(variant.capitalize())}\b", raw or ""):
        before = raw[: hit.start()].rstrip()
        if before and before[-1] not in ".?!:":
            return True
    return False


@cache
def _word(needle: str) -> re.Pattern[str]:
    # Compiled once per name: every answer looks for a few hundred names and variants, more
    # than re's own cache keeps, so without this each look-up compiled its pattern anew (what
    # that cost under load: docs/performance.md).
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
COMPASS = ("noordoost", "noordwest", "zuidoost", "zuidwest", "noord", "oost", "zuid", "west", "centrum", "nieuw west")
BOUNDARY_WORDS = (
    "buurt",
    "buurten",
    "straat",
    "straten",
    "postcode",
    "postcodes",
    "grens",
    "grenzen",
    "wijkgrens",
    "wijkgrenzen",
    "adres",
    "welke wijken horen",
)


def _is_short(alias: str, gemeente: Gemeente) -> bool:
    """An alias without its gemeente's name ("zuidwest", "westwijk"): other towns have such
    parts too ("Utrecht Zuidwest", "Amstelveen Westwijk"), so it only counts in context."""
    names = [normalise(gemeente.name), *gemeente.aliases]
    return not any(len(n) >= 4 and n in alias for n in names)


def _index(kb: KnowledgeBase) -> list[tuple[str, object]]:
    """(normalised name, object) pairs, longest names first so 'Rotterdam-Zuid' beats 'Rotterdam'."""
    pairs: list[tuple[str, object]] = []
    for g in kb.gemeenten:
        for a in g.areas:
            pairs += [(normalise(a.name), a)] + [(alias, a) for alias in a.aliases]
        pairs += [(normalise(g.name), g)] + [(alias, g) for alias in g.aliases]
    for t in kb.themes:
        pairs += [(normalise(t.name), t)] + [(alias, t) for alias in t.aliases]
    for m in kb.ministries:
        pairs += [(normalise(m.key), m)] + [(alias, m) for alias in m.aliases]
    return sorted(pairs, key=lambda p: -len(p[0]))


def _short_aliases(kb: KnowledgeBase) -> dict[str, Area]:
    return {alias: a for g in kb.gemeenten for a in g.areas for alias in a.aliases if _is_short(alias, g)}


@dataclass(frozen=True)
class _Tables:
    """What ``find`` looks for, worked out once per knowledge base, not on every call (sorting
    a few thousand names per answer; measured in docs/performance.md)."""

    index: list[tuple[str, object]]
    short: dict[str, Area]
    gemeente_of: dict[str, Gemeente]
    gemeente_names: list[tuple[str, Gemeente]]
    district_words: list[str]
    short_longest_first: list[tuple[str, Area]]
    #: normalised variant -> name of every Dutch place without an NPLV area.
    others: dict[str, str]
    longest_other: int
    #: Other places whose name holds an NPLV name ("Midden-Groningen"): looked for first.
    shadowing: list[str]
    #: Every known name by its normalised words, for reading a message word by word.
    words: dict[str, object]
    longest_words: int


def _others(kb: KnowledgeBase) -> dict[str, str]:
    own = {normalise(g.name) for g in kb.gemeenten} | {a for g in kb.gemeenten for a in g.aliases}
    names = {v: n for v, n in national_gemeenten().items() if v not in own}
    names.update(other_places())  # its synonyms ("den bosch") win
    return names


def _tables(kb: KnowledgeBase) -> _Tables:
    # Kept on the knowledge base, with the tuples it was made from: a knowledge base whose
    # lists were replaced gets new tables.
    made_from = (kb.gemeenten, kb.themes, kb.ministries)
    kept = kb.__dict__.get("_kw_place_tables")
    if kept is not None and all(a is b for a, b in zip(kept[0], made_from, strict=False)):
        cached: _Tables = kept[1]
        return cached
    short = _short_aliases(kb)
    index = _index(kb)
    others = _others(kb)
    own_names = [name for name, obj in index if isinstance(obj, (Area, Gemeente))]
    shadowing = sorted(
        (v for v in others if any(_contains(f" {v} ", n) and n != v for n in own_names)), key=len, reverse=True
    )
    words: dict[str, object] = {v: others[v] for v in others}
    words.update({w: COMPASS_MARK for w in COMPASS})
    words.update({name: obj for name, obj in index})
    tables = _Tables(
        index=index,
        short=short,
        gemeente_of={g.name: g for g in kb.gemeenten},
        gemeente_names=sorted(
            ((n, g) for g in kb.gemeenten for n in (normalise(g.name), *g.aliases)), key=lambda p: -len(p[0])
        ),
        district_words=sorted(set(COMPASS) | set(short), key=len, reverse=True),
        short_longest_first=sorted(short.items(), key=lambda p: -len(p[0])),
        others=others,
        longest_other=max(len(v.split()) for v in others),
        shadowing=shadowing,
        words=words,
        longest_words=max(len(w.split()) for w in words),
    )
    kb.__dict__["_kw_place_tables"] = (made_from, tables)
    return tables


def _add(m: Mentions, obj: object) -> None:
    targets: dict[type, list[Any]] = {Area: m.areas, Gemeente: m.gemeenten, Theme: m.themes, Ministry: m.ministries}
    target = targets[type(obj)]
    if obj not in target:
        target.append(obj)


# Which kinds of knowledge-base object an NLU entity may name.
ENTITY_KINDS: dict[str, tuple[type, ...]] = {
    "gemeente": (Area, Gemeente),
    "gebied": (Area, Gemeente),
    "plaats": (Area, Gemeente),
    "thema": (Theme,),
    "ministerie": (Ministry,),
}
_ANY_KIND = (Area, Gemeente, Theme, Ministry)


def _raw_span(text: str, ent: dict[str, Any]) -> str | None:
    start, end = ent.get("start"), ent.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text or ""):
        return text[start:end]
    return None


def _names_other_part(raw: str, area: Area) -> bool:
    """The words typed for ``area`` share none with its name or aliases: another name for a
    part of town (a typo or spelling of the area's own name keeps at least one word)."""
    typed = set(normalise(raw).split())
    own = set(normalise(area.name).split()).union(*(set(a.split()) for a in area.aliases))
    return bool(typed) and not typed & own


def find(kb: KnowledgeBase, text: str, entities: Iterable[dict[str, Any]] | None = None) -> Mentions:
    mentions = Mentions()
    tables = _tables(kb)
    index, short, gemeente_of = tables.index, tables.short, tables.gemeente_of
    places = tables.others
    for ent in entities or []:
        value = normalise(str(ent.get("value") or ""))
        raw = _raw_span(text, ent)
        if not value or (raw is not None and normalise(raw) in short):
            continue  # a bare part of town: decided below, from the text around it
        entity = ent.get("entity")
        kinds = ENTITY_KINDS.get(entity, _ANY_KIND) if isinstance(entity, str) else _ANY_KIND
        match = next((obj for name, obj in index if name == value and isinstance(obj, kinds)), None)
        if isinstance(match, Area) and raw is not None and _names_other_part(raw, match):
            # An NLU synonym for a part of town ("de Bijlmer" -> Amsterdam Zuidoost) is no fact
            # of ours: FACTS lists the areas, not which buurten they hold.
            district = (gemeente_of[match.gemeente], " ".join(w.capitalize() for w in raw.split()))
            if all(d[1] != district[1] for d in mentions.districts):
                mentions.districts.append(district)
            continue
        if match is not None:
            _add(mentions, match)
        elif (
            ent.get("entity") in ("plaats", "gemeente", "gebied")
            and value in places
            and places[value] not in mentions.others
        ):
            mentions.others.append(places[value])
    norm = f" {normalise(text or '')} "
    rest = norm
    # "Midden-Groningen" before "Groningen": a place whose name holds an NPLV name.
    for variant in tables.shadowing:
        if _contains(rest, variant):
            if places[variant] not in mentions.others:
                mentions.others.append(places[variant])
            rest = remove_word(rest, variant)
    for name, obj in index:
        if name in short:
            continue
        if _contains(rest, name):
            _add(mentions, obj)
            rest = remove_word(rest, name)
    # Looked up by the message's own word sequences: a few dozen look-ups instead of a test
    # for each of the ~700 names and spellings.
    words = rest.split()
    grams = {" ".join(words[i : i + n]) for n in range(1, tables.longest_other + 1) for i in range(len(words) - n + 1)}
    for variant in sorted((g for g in grams if g in places), key=len, reverse=True):
        if _contains(rest, variant):
            if _as_place(text, variant) and places[variant] not in mentions.others:
                mentions.others.append(places[variant])
            rest = remove_word(rest, variant)
    # "<gemeente> <part of town>" that is no area: a district of that gemeente, not an alias.
    gemeente_names = tables.gemeente_names
    for name, g in gemeente_names:
        for word in tables.district_words:
            phrase = f"{name} {word}"
            if _contains(norm, phrase) and _contains(rest, word):
                own = tables.short.get(word)
                if own is not None and own.gemeente == g.name:
                    # "a'dam zuidoost": another spelling of the gemeente before its own area's
                    # short name is that area, not a district of it.
                    _add(mentions, own)
                    rest = remove_word(rest, word)
                    continue
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
    named_here = named_districts(kb, text or "", tables) if mentions.gemeenten or mentions.areas else []
    for g, label in named_here:
        named = g in mentions.gemeenten or any(a.gemeente == g.name for a in mentions.areas)
        if named and not any(same_district(label, d) for h, d in mentions.districts if h is g):
            mentions.districts.append((g, label))
    if not (mentions.areas or mentions.gemeenten or mentions.others) and (
        STREETLIKE.search(norm) or any(f" {w} " in norm for w in DISTRICT_NOUNS)
    ):
        mentions.unplaced = unplaced_districts(kb, text or "", tables)
    # A gemeente that is only named as part of one of its areas is not a separate mention.
    mentions.gemeenten = [
        g
        for g in mentions.gemeenten
        if not any(a.gemeente == g.name for a in mentions.areas) or any(d[0] is g for d in mentions.districts)
    ]
    mentions.asks_boundary = any(_contains(norm, w) for w in BOUNDARY_WORDS) or STREETLIKE.search(rest) is not None
    return mentions
