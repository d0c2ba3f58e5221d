"""Parts of town named in a message that are no area of the tables: "Tilburg Reeshof", "de
Schilderswijk in Den Haag", "de wijk Kanaleneiland". Whether such a district lies in an area is
not in the sources; :func:`bot.knowledge.places.find` reads them with these functions, over the
place tables it built (``_Tables``), and the answer says so.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from bot.knowledge.loader import Area, Gemeente, KnowledgeBase, normalise

if TYPE_CHECKING:
    from bot.knowledge.places import _Tables

#: What a compass word ("noord", "zuidoost") maps to in the place tables' words.
COMPASS_MARK = "compass"

# A named buurt or street ("Afrikaanderwijk", "Vreewijkstraat") that is not in the tables.
STREETLIKE = re.compile(
    r"\b(?!(?:kansrijke|focus|probleem|achterstands|kracht|nplv|aandachts)(?:wijk|buurt))"
    r"\w+(?:wijk|buurt|straat|laan|weg|plein|kwartier|singel)\b"
)

_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
#: Words that never name a part of town, whatever the vocabulary says.
NOT_A_DISTRICT = frozenset(
    """de het een en of in op bij van voor naar uit met over om te tot
    aan als dan ook nog wel niet geen al toch nou maar die dat deze dit er hier daar zo mee
    erbij eronder eraan ervoor is zijn was hoort horen valt vallen ligt liggen zit zitten doet
    doen telt krijgt krijgen kan kunnen mag mogen wil willen gaat gaan heeft hebben wordt
    gemeente gemeenten gemeentes stad wijk wijken buurt buurten stadsdeel gebied gebieden
    focusgebied focusgebieden regio provincie centrum nplv spuk geld eigenlijk precies ook
    the and of in is part this that area district city""".split()
)
PREPOSITIONS = ("in", "bij", "uit")
MAX_DISTRICT_WORDS = 3


def _display(name: str) -> str:
    """A name as the user typed it, with capitals when they typed none ("reeshof")."""
    if name != name.lower():
        return name
    return re.sub(r"(^|[\s-])(\w)", lambda m: m.group(1) + m.group(2).upper(), name)


def same_district(label: str, other: str) -> bool:
    """Whether two district labels name the same part of town ("Reeshof", "Tilburg Reeshof")."""
    a, b = normalise(label), normalise(other)
    return a == b or a.endswith(f" {b}") or b.endswith(f" {a}")


def _known_word(kb: KnowledgeBase, word: str) -> bool:
    """A word of the assistant's own vocabulary (training examples, keywords)."""
    from bot.knowledge.retrieval import tokens, vocabulary  # retrieval imports this module

    content = tokens(word)
    return not content or all(t in vocabulary(kb) for t in content)


#: A word of the text: as typed, its start and end.
_Word = tuple[str, int, int]
#: The known name a word is part of: (object, its first word, the word after its last), or None.
_Owner = tuple[object, int, int] | None


def _read(text: str, tables: _Tables) -> tuple[list[_Word], list[str], list[_Owner]]:
    """The words of ``text`` (word, start, end), normalised, and for each the known name it is
    part of: (object, first word, end), longest name first."""
    found = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    norm = [normalise(w) for w, _, _ in found]
    owner: list[_Owner] = [None] * len(found)
    i = 0
    while i < len(found):
        for size in range(min(tables.longest_words, len(found) - i), 0, -1):
            obj = tables.words.get(" ".join(norm[i : i + size]))
            if obj is not None:
                for k in range(i, i + size):
                    owner[k] = (obj, i, i + size)
                i += size
                break
        else:
            i += 1
    return found, norm, owner


class _DistrictWord(Protocol):
    def __call__(self, k: int, after_gemeente: bool) -> bool: ...


def _district_word(
    kb: KnowledgeBase, text: str, found: list[_Word], norm: list[str], owner: list[_Owner]
) -> _DistrictWord:
    def starts_sentence(k: int) -> bool:
        before = text[: found[k][1]].rstrip()
        return not before or before[-1] in ".?!:\n"

    def district_word(k: int, after_gemeente: bool) -> bool:
        word = norm[k]
        if owner[k] is not None or word in NOT_A_DISTRICT or len(word) < 3:
            return False
        if STREETLIKE.search(word):
            return True
        if found[k][0][0].isupper() and not starts_sentence(k):
            return True
        _, start, end = found[k]
        if text[end : end + 1] == "-" or text[start - 1 : start] == "-":
            return True  # part of a compound name: "oud-zuid", "tilburg-reeshof"
        return after_gemeente and not _known_word(kb, word)

    return district_word


#: "de wijk Kanaleneiland", "buurt Het Zwin": a part of town named without its gemeente.
DISTRICT_NOUNS = ("wijk", "buurt", "stadsdeel", "woonwijk", "dorp", "kern")


def unplaced_districts(kb: KnowledgeBase, text: str, tables: _Tables) -> list[str]:
    """Parts of town named without a gemeente: after "wijk"/"buurt"/"stadsdeel", or shaped like
    one ("de Afrikaanderwijk"). Whether they lie in an area is not in the sources either."""
    found, norm, owner = _read(text, tables)
    district_word = _district_word(kb, text, found, norm, owner)
    names: list[str] = []
    for k, (word, start, end) in enumerate(found):
        if owner[k] is not None or "@" in text[max(0, start - 1) : end + 1]:
            continue  # a known name, or part of an e-mail address
        after_noun = k > 0 and norm[k - 1] in DISTRICT_NOUNS
        capital = word[0].isupper() and k > 0 and text[:start].rstrip()[-1:] not in ".?!:"
        if (after_noun and district_word(k, True)) or (capital and STREETLIKE.search(norm[k])):
            names.append(_display(word))
    return names


def named_districts(kb: KnowledgeBase, text: str, tables: _Tables) -> list[tuple[Gemeente, str]]:
    """Parts of town named next to an NPLV gemeente that are no area of the tables:
    "Tilburg Reeshof", "Reeshof in Tilburg", "de Schilderswijk in Den Haag". A word counts when
    it is written with a capital inside a sentence, looks like a street or buurt name, or (right
    after the gemeente) is no word the assistant knows; compass words are handled by ``find``."""
    found, norm, owner = _read(text, tables)
    district_word = _district_word(kb, text, found, norm, owner)
    districts: list[tuple[Gemeente, str]] = []
    seen = set()
    for k, own in enumerate(owner):
        if own is None:
            continue
        place, start, end = own
        if not isinstance(place, (Gemeente, Area)) or start != k or start in seen:
            continue
        seen.add(start)
        # A part of town named with an area ("Charlois in Rotterdam-Zuid") belongs to the
        # area's gemeente; whether it lies in the area is just as unknown.
        is_area = isinstance(place, Area)
        g = tables.gemeente_of[place.gemeente] if isinstance(place, Area) else place
        # "<gemeente> <district>": "Tilburg Reeshof", "Amsterdam Oud-Zuid"
        run: list[int] = []
        j = end
        while j < len(found) and len(run) < MAX_DISTRICT_WORDS:
            compass_next = (o := owner[j]) is not None and o[0] == COMPASS_MARK
            if (run and compass_next) or district_word(j, after_gemeente=not is_area):
                run.append(j)
                j += 1
            else:
                break
        if run:
            label = _display(text[found[run[0]][1] : found[run[-1]][2]])
            districts.append((g, label if is_area else f"{g.name} {label}"))
        # "<district> in <gemeente>": "de Schilderswijk in Den Haag", "Oud-Zuid in Amsterdam"
        j = start - 1
        preposition = j >= 0 and norm[j] in PREPOSITIONS
        if preposition:
            j -= 1
        run = []
        while j >= 0 and len(run) < MAX_DISTRICT_WORDS:
            compass = (o := owner[j]) is not None and o[0] == COMPASS_MARK
            # Typed in lower case, the word right before "in <gemeente>" counts when the
            # assistant does not know it ("hoort reeshof in tilburg erbij").
            unknown_ok = preposition and all(owner[r] is not None for r in run)
            if compass or district_word(j, after_gemeente=unknown_ok):
                run.insert(0, j)
                j -= 1
            else:
                break
        if run and any(owner[k2] is None for k2 in run):
            districts.append((g, _display(text[found[run[0]][1] : found[run[-1]][2]])))
    return districts
