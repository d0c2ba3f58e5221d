"""What a composed answer may claim, held to everything the user named in the question.

An answer is composed from what was recognised in the question (places, years, amounts) and a
text of the knowledge base. Every place, year and amount the user named is either covered by
that text or by the tables (then it is answered) or said plainly to be not in the sources. An
answer opens with "Ja" only when everything the user named is covered:

- a part of town that is no area's own name: "In <gemeente> is het focusgebied <area>; of
  <district> daarbij hoort, staat niet in mijn bronnen." (FACTS lists areas, not boundaries);
- a gemeente outside the 19: it does not take part, whatever the question was about;
- two places in one question: both are addressed; whether they can apply together is not in
  the sources;
- a year the answer does not cover: said to be not in the sources; spending the money after
  2028 is answered "nee, tot en met 2028" (FACTS: usable up to and including 2028);
- an amount the answer does not carry is not confirmed; a total is not a yearly amount.

render.py renders the knowledge base's answer first and hands it to :func:`ground`; the
sentences are named templates in bot/texts.py (``KNOWLEDGE_REPLY``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.knowledge.loader import Gemeente, KnowledgeBase, normalise
from bot.knowledge.places import Mentions
from bot.texts import KNOWLEDGE_REPLY

FIRST_YEAR_AFTER = 2029  # FACTS: the money can be used up to and including 2028
FIRST_TRANCHE = range(2023, 2026)  # FACTS: the first tranche, 2023-2025
# An aanvraagnummer ("KW-2025-0042") holds a year that is not one the user asks about.
_NUMBER_RE = re.compile(r"\b[a-z]{2}\s?-?\s?20\d\d\s?-?\s?\d{3,5}\b", re.I)
# A postcode ("2031 AB") is no year.
_YEAR_RE = re.compile(r"(?<![\d,.])(20\d\d)(?![\d,.]\d)(?!\s?[A-Z]{2}\b)")
_YEAR_RANGE_RE = re.compile(r"(20\d\d)\s*(?:-|–|tot en met|t/m|tot)\s*(20\d\d)")
_AMOUNT_RE = re.compile(
    r"(?P<euro>€|\beur(?:o)?\b)?\s*(?P<num>\d{1,3}(?:\.\d{3})+|\d+(?:,\d+)?)\s*"
    r"(?P<unit>miljard|mld|miljoen|mln|mio|duizend|k\b)?\s*(?P<euro2>euro)?"
    r"(?!\s*(?:inwoners|mensen|bewoners|kinderen|leerlingen|huishoudens|woningen))",
    re.I,
)
_UNITS = {"miljard": 1e9, "mld": 1e9, "miljoen": 1e6, "mln": 1e6, "mio": 1e6, "duizend": 1e3, "k": 1e3}
_PER_YEAR_RE = re.compile(r"\b(per jaar|elk jaar|ieder jaar|jaarlijks|per kalenderjaar)\b")
_JOINT_RE = re.compile(
    r"\b(samen|gezamenlijk\w*|met z'?n \w+|een aanvraag samen|samenwerk\w*|"
    r"één aanvraag|1 aanvraag|gedeelde aanvraag)\b"
)
_SPEND_RE = re.compile(
    r"\b(uitgeven|uitgegeven|uit te geven|besteden|besteed|te besteden|"
    r"gebruiken|gebruikt|te gebruiken|opmaken|opgemaakt|op maken|nog op|"
    r"doorschuiven|doorgeschoven|door te schuiven|meenemen|meegenomen|inzetten|"
    r"ingezet|spenderen|benutten|op zijn|opgaan|over houden|overhouden)\b"
)
# The totals of FACTS are for a period, never a year.
_TOTAL_PERIOD = {256e6: "2023-2025"}
_DEFAULT_PERIOD = "2026-2028"


def say(key: str, /, **values: object) -> str:
    return KNOWLEDGE_REPLY[key].format(**values)


@dataclass(frozen=True)
class Amount:
    value: float
    text: str


@dataclass
class Named:
    """What the user named in one question."""

    mentions: Mentions
    years: list[int] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    per_year: bool = False
    joint: bool = False
    spending: bool = False
    yes_no: bool = False

    @property
    def places(self) -> int:
        m = self.mentions
        named = {a.gemeente for a in m.areas} | {g.name for g in m.gemeenten}
        return len(m.areas) + len(m.gemeenten) + len(m.others) + len({g.name for g, _ in m.districts} - named)


def euros(value: float) -> str:
    """€ 50 miljoen, € 1,5 miljard, € 250.000."""
    for unit, size in (("miljard", 1e9), ("miljoen", 1e6)):
        if value >= size:
            number = f"{value / size:.2f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"€ {number} {unit}"
    return "€ " + f"{round(value):,}".replace(",", ".")


def amounts_in(text: str) -> list[Amount]:
    """Money in a text: a number with a euro sign, "euro" or a unit ("50 miljoen", "€ 2.000")."""
    found = []
    for m in _AMOUNT_RE.finditer(_NUMBER_RE.sub(" ", text or "")):
        unit = (m.group("unit") or "").lower()
        if not (m.group("euro") or m.group("euro2") or unit):
            continue
        number = m.group("num")
        value = float(number.replace(".", "")) if "." in number else float(number.replace(",", "."))
        if 2000 <= value <= 2099 and not unit and not m.group("euro"):
            continue  # "in 2031 euro's"? a year, not an amount
        value *= _UNITS.get(unit, 1.0)
        found.append(Amount(value, euros(value)))
    return found


def years_in(text: str) -> list[int]:
    cleaned = _NUMBER_RE.sub(" ", text or "")
    years = []
    for m in _YEAR_RE.finditer(cleaned):
        year = int(m.group(1))
        if year not in years:
            years.append(year)
    return years


def covered_years(text: str) -> set[int]:
    """The years a text speaks about, a range ("2026 tot en met 2028") with the years inside."""
    years = set(years_in(text))
    for m in _YEAR_RANGE_RE.finditer(text or ""):
        first, last = int(m.group(1)), int(m.group(2))
        if first <= last <= first + 10:
            years.update(range(first, last + 1))
    return years


def read(text: str, mentions: Mentions, yes_no: bool) -> Named:
    low = normalise(text or "").replace("’", "'")
    raw_low = (text or "").lower()
    return Named(
        mentions=mentions,
        years=years_in(text),
        amounts=amounts_in(text),
        per_year=bool(_PER_YEAR_RE.search(low)),
        joint=bool(_JOINT_RE.search(raw_low)),
        spending=bool(_SPEND_RE.search(low)),
        yes_no=yes_no,
    )


# -- what may be said --------------------------------------------------------------------------


def _area_names(g: Gemeente) -> str:
    return KNOWLEDGE_REPLY["and"].join(f"**{a.name}**" for a in g.areas)


def district_line(g: Gemeente, label: str) -> str:
    areas = say("one_area") if len(g.areas) == 1 else say("more_areas")
    return say("district", gemeente=g.name, area=areas, names=_area_names(g), label=label)


def not_nplv(kb: KnowledgeBase, place: str, yes_no: bool) -> str:
    names = ", ".join(g.name for g in kb.gemeenten[:-1]) + KNOWLEDGE_REPLY["and"] + kb.gemeenten[-1].name
    lead = say("no_lead", place=place) if yes_no else place
    return say("not_nplv", lead=lead, names=names)


def _mentioned(body: str, *names: str) -> bool:
    low = normalise(body.replace("*", " "))
    return any(normalise(n) and f" {normalise(n)} " in f" {low} " for n in names)


def _strip_yes(body: str, also_no: bool = False) -> str:
    """The answer without an opening "Ja" (the question named something not covered)."""
    m = re.match(r"\s*(?:Ja|Nee)[.,!]?\s+(\S)" if also_no else r"\s*Ja[.,!]?\s+(\S)", body)
    if not m:
        return body
    return m.group(1).upper() + body[m.end() :]


def _spending_after_period(named: Named) -> int | None:
    late = [y for y in named.years if y >= FIRST_YEAR_AFTER]
    return late[0] if late and named.spending else None


@dataclass
class Grounded:
    body: str
    known: bool
    sources: tuple[str, ...]


def ground(kb: KnowledgeBase, named: Named, body: str, known: bool, sources: Sequence[str]) -> Grounded:
    """``body`` (the knowledge base's answer) checked against everything the user named."""
    m = named.mentions
    lead: list[str] = []
    tail: list[str] = []
    extra: list[str] = []
    unknown = False  # something named is said to be not in the sources: offer the helpdesk

    # Places: a gemeente outside the 19 does not take part; a district is not an area.
    first = True
    for place in m.others:
        if not _mentioned(body, place):
            yes_no = named.yes_no and first and not (m.areas or m.gemeenten)
            lead.append(not_nplv(kb, place, yes_no) if first else say("no_area", place=place))
            extra += ["S15", "S16"]
        first = False
    for g, label in m.districts:
        if not _mentioned(body, label):
            lead.append(district_line(g, label))
            extra += ["S15", "S16"]
        unknown = True
    for name in m.unplaced:
        lead.append(say("unplaced", label=name))
        extra += ["S15", "S16"]
        unknown = True
    if m.asks_boundary and (m.areas or m.gemeenten):
        unknown = True
        if "buurten" not in body:
            tail.append(KNOWLEDGE_REPLY["boundary"])
    # Two or more places: each is addressed, and a joint application is not in the sources.
    if named.places >= 2:
        for area in m.areas:
            if not _mentioned(body, area.name):
                lead.append(say("area_short", area=area.name, gemeente=area.gemeente))
                extra += ["S15", "S16"]
        for g in m.gemeenten:
            if any(d[0] is g for d in m.districts):
                continue
            if not _mentioned(body, g.name, *[a.name for a in g.areas]):
                lead.append(say("gemeente_short", gemeente=g.name, names=_area_names(g)))
                extra += ["S15", "S16"]
        if named.joint:
            tail.append(say("joint_unknown"))
            unknown = True

    # Years: spending after 2028 is "nee"; any other year the answer does not cover is unknown.
    late = _spending_after_period(named)
    if late is not None:
        lead_word = say("no_year_lead", year=late) if named.yes_no else ""
        body = say("after_period", lead=lead_word, year=late)
        extra += ["S4"]
    else:
        covered = covered_years(body)
        missing = [y for y in named.years if y not in covered]
        earlier = [y for y in missing if y in FIRST_TRANCHE]
        other = [y for y in missing if y not in FIRST_TRANCHE]
        if earlier:  # FACTS: the first tranche covered 2023-2025
            tail.append(say("year_first_tranche", years=KNOWLEDGE_REPLY["and"].join(map(str, earlier))))
            extra += ["S8"]
        for key, years in (
            ("year_unknown_past", [y for y in other if y < 2026]),
            ("year_unknown", [y for y in other if y >= 2026]),
        ):
            if years:
                tail.append(say(key, years=KNOWLEDGE_REPLY["and"].join(map(str, years))))
        unknown = unknown or bool(missing)

    # Amounts: confirmed only when the answer carries them; a period total is not per year.
    carried = {a.value for a in amounts_in(body)}
    for amount in named.amounts:
        if amount.value not in carried:
            lead.append(say("amount_unknown_named", amount=amount.text))
            unknown = True
        elif named.per_year and "niet per jaar" not in body:
            period = _TOTAL_PERIOD.get(amount.value, _DEFAULT_PERIOD)
            lead.insert(
                0,
                say(
                    "not_per_year", lead=say("no_lead_plain") if named.yes_no else "", amount=amount.text, period=period
                ),
            )
            unknown = True

    if not yes_allowed(named) or unknown:
        body = _strip_yes(body)
        lead = [_strip_yes(line) for line in lead]
    elif not named.yes_no:
        body = _strip_yes(body, also_no=True)  # "Ja." / "Nee." answer only a yes/no question
    text = "\n\n".join(part for part in (" ".join(lead), body, " ".join(tail)) if part)
    ids = tuple(dict.fromkeys([*sources, *extra]))
    return Grounded(text, known and not unknown, ids)


def yes_allowed(named: Named) -> bool:
    """Whether an answer may open with "Ja": everything named is covered by the tables."""
    m = named.mentions
    late = _spending_after_period(named) is not None
    return not (m.others or m.districts or m.unplaced or m.asks_boundary or late or (named.joint and named.places >= 2))
