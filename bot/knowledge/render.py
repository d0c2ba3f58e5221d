"""Turn knowledge-base entries into replies: short Dutch text, its sources, follow-up buttons.

What a composed answer may claim about the places, years and amounts the user named is decided
in bot/knowledge/grounding.py, which every answer passes through.

Every reply about the regeling carries its sources (as data, :class:`bot.core.reply.Reply`);
answers the knowledge base marks as unknown always offer the helpdesk. Parameterised answers
(areas, themes, ministries, examples) are composed here from the tables, never from free text in
the code: their sentences are named templates in bot/texts.py (``KNOWLEDGE_REPLY``), which this
module picks and fills.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.core.reply import HANDOFF_BUTTON, Button, Reply, Source
from bot.knowledge import grounding
from bot.knowledge.grounding import Named
from bot.knowledge.loader import Answer, KnowledgeBase, normalise
from bot.knowledge.places import Mentions, find
from bot.texts import KNOWLEDGE_REPLY

MAX_BUTTONS = 3


def say(key: str, /, **values: object) -> str:
    """The named template ``key`` of :data:`bot.texts.KNOWLEDGE_REPLY`, filled in."""
    return KNOWLEDGE_REPLY[key].format(**values)


def capitalised(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}"


def thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _sources(kb: KnowledgeBase, ids: Sequence[str]) -> tuple[Source, ...]:
    return tuple(Source(kb.sources[i].title, kb.sources[i].url) for i in dict.fromkeys(ids))


def answer_button(kb: KnowledgeBase, key: str) -> Button:
    """The button that asks for the knowledge-base answer ``key``."""
    answer = kb.answers[key]
    return Button(answer.button, f"/{answer.intent}")


def _buttons(kb: KnowledgeBase, keys: Iterable[str], handoff: bool = False) -> tuple[Button, ...]:
    buttons = [HANDOFF_BUTTON] if handoff else []
    buttons += [answer_button(kb, key) for key in keys]
    return tuple(buttons[:MAX_BUTTONS])


def compose(
    kb: KnowledgeBase,
    answer: Answer,
    text: str | None = None,
    sources: Sequence[str] | None = None,
    known: bool | None = None,
) -> Reply:
    """A reply in the shape of `answer` (its checked date, follow-ups), optionally with other text."""
    known = answer.known if known is None else known
    body = text if text is not None else answer.text
    if not known:
        body = f"{body}\n\n{kb.unknown_offer}"
    ids = sources if sources is not None else answer.sources
    return Reply(body, _buttons(kb, answer.followups, handoff=not known), _sources(kb, ids), answer.checked)


def helpdesk_reply(kb: KnowledgeBase, lead: str = "", handoff: bool = False) -> Reply:
    """How to reach the helpdesk (with ``handoff``: and the button to ask for a person now)."""
    body = f"{lead} {kb.helpdesk.text}".strip()
    return Reply(body, (HANDOFF_BUTTON,) if handoff else (), _sources(kb, kb.helpdesk.sources), kb.helpdesk.checked)


# -- parameterised answers -------------------------------------------------------------------

# A Dutch yes/no question starts with the finite verb ("Is …", "Hoort …", "Doet … mee?"); only
# then may an answer start with "Ja," or "Nee,".
YES_NO_VERBS = frozenset(
    """is zijn hoort horen behoort behoren valt vallen doet doen zit zitten
    kan kunnen mag mogen heeft hebben krijgt krijgen komt komen staat staan geldt gelden ligt
    liggen telt tellen wordt worden was waren zou zouden moet moeten gaat gaan""".split()
)
PEILDATUM = KNOWLEDGE_REPLY["peildatum"]
BOUNDARY = KNOWLEDGE_REPLY["boundary"]
AND = KNOWLEDGE_REPLY["and"]


def is_yes_no(text: str) -> bool:
    words = normalise(text or "").split()
    return bool(words) and words[0] in YES_NO_VERBS


def _not_nplv(kb: KnowledgeBase, place: str, yes_no: bool = True) -> str:
    return grounding.not_nplv(kb, place, yes_no)


#: A place answer: (text, known); its sources are the areas table's (``PLACE_SOURCES``).
PlaceResult = tuple[str, bool]
#: Any other composed answer: (text, sources, known).
FactResult = tuple[str, list[str], bool]


def _districts_text(m: Mentions) -> list[str]:
    return [grounding.district_line(g, label) for g, label in m.districts]


def _areas_text(kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None) -> PlaceResult | None:
    yes_no = is_yes_no(text)
    yes = say("yes") if yes_no and (named is None or grounding.yes_allowed(named)) else ""
    lines = _districts_text(m)
    district_gemeenten = [g for g, _ in m.districts]
    for area in m.areas:
        lines.append(
            say(
                "area",
                yes=yes,
                area=area.name,
                gemeente=area.gemeente,
                inhabitants=thousands(area.inhabitants),
                peildatum=PEILDATUM,
            )
        )
        yes = ""
    for g in m.gemeenten:
        if g in district_gemeenten:
            continue
        if len(g.areas) == 1:
            lines.append(
                say(
                    "gemeente_one_area",
                    yes=yes,
                    gemeente=g.name,
                    area=g.areas[0].name,
                    inhabitants=thousands(g.areas[0].inhabitants),
                    peildatum=PEILDATUM,
                )
            )
        else:
            parts = AND.join(
                say("gemeente_areas_part", area=a.name, inhabitants=thousands(a.inhabitants)) for a in g.areas
            )
            lines.append(
                say("gemeente_areas", yes=yes, gemeente=g.name, count=len(g.areas), parts=parts, peildatum=PEILDATUM)
            )
        yes = ""
    if m.others and not lines:
        lines.append(_not_nplv(kb, m.others[0], yes_no))
        others = m.others[1:]
    else:
        others = m.others
    for place in others:
        lines.append(say("no_area", place=place))
    if not lines:
        return None
    unknown = bool(m.districts) or (m.asks_boundary and bool(m.areas or m.gemeenten))
    if unknown:
        lines.append(BOUNDARY)
    return " ".join(lines), not unknown


def _inwoners_text(kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None) -> PlaceResult | None:
    areas = list(m.areas) + [a for g in m.gemeenten for a in g.areas]
    areas += [a for g, _ in m.districts for a in g.areas if a not in areas]
    if not areas:
        return (_not_nplv(kb, m.others[0], is_yes_no(text)), True) if m.others else None
    parts = "; ".join(say("inhabitants_part", area=a.name, inhabitants=thousands(a.inhabitants)) for a in areas)
    body = say("inhabitants", parts=capitalised(parts), peildatum=PEILDATUM)
    lines = [*_districts_text(m), body]
    unknown = bool(m.districts) or m.asks_boundary
    if unknown:
        lines.append(BOUNDARY)
    return " ".join(lines), not unknown


def _budget_part(m: Mentions) -> FactResult | None:
    part = next((t for t in m.themes if t.budget), None)
    return (part.text, list(part.sources), part.known) if part else None


def _themes_text(kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None) -> FactResult | None:
    if not m.themes:
        return None
    theme = m.themes[0]
    return theme.text, list(theme.sources), theme.known


def _ministry_text(kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None) -> FactResult | None:
    if not m.ministries:
        return None
    paying = [x for x in m.ministries if x.amount]
    lines: list[str] = []
    sources: list[str] = []
    if paying:
        parts = AND.join(say("ministry_part", ministry=x.name, amount=x.amount) for x in paying)
        lines.append(say("ministries", parts=capitalised(parts)))
        sources += ["S1", "S5"]
    for x in m.ministries:
        if not x.amount and x.text:  # a ministry without an amount has a text (the loader checks)
            lines.append(x.text)
            sources += [s for s in x.sources if s not in sources]
    return " ".join(lines), sources, True


def _example_text(kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None) -> FactResult | None:
    areas = list(m.areas) + [a for g in m.gemeenten for a in g.areas]
    for area in areas:
        example = kb.examples.get(area.name)
        if example:
            body = example.text
            if not example.confirmed:
                body += say("example_unconfirmed")
            return body, list(example.sources), True
    if areas:
        return say("no_example", area=areas[0].name), ["S11"], False
    if m.others:
        return _not_nplv(kb, m.others[0], is_yes_no(text)), ["S15", "S16"], True
    return None


def _bedrag_text(kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None) -> FactResult | None:
    names = [a.name for a in m.areas] + [g.name for g in m.gemeenten]
    if not names:
        if m.others:  # a gemeente outside the 19 gets nothing: it does not take part
            return _not_nplv(kb, m.others[0], is_yes_no(text)), ["S15", "S16"], True
        return _budget_part(m)
    verb = say("amount_verb_one") if len(names) == 1 else say("amount_verb_more")
    return say("amount_unknown", name=AND.join(names), verb=verb), ["S3", "S1"], False


def _budget_totaal_text(
    kb: KnowledgeBase, m: Mentions, text: str = "", named: Named | None = None
) -> FactResult | None:
    return _budget_part(m)


# intent -> function(kb, mentions, text, named) returning (text, sources, known) or None.
SPECIAL: dict[str, Callable[[KnowledgeBase, Mentions, str, Named | None], PlaceResult | FactResult | None]] = {
    "faq_gebieden": _areas_text,
    "faq_wie_aanvragen": _areas_text,
    "faq_inwoners": _inwoners_text,
    "faq_themas": _themes_text,
    "faq_bijdrage_ministerie": _ministry_text,
    "faq_voorbeelden": _example_text,
    "faq_bedrag_gemeente": _bedrag_text,
    "faq_budget_totaal": _budget_totaal_text,
}
# Sources of the place answers, which come from the areas table.
PLACE_SOURCES = {"faq_gebieden": ["S15", "S16"], "faq_wie_aanvragen": ["S1", "S15"], "faq_inwoners": ["S16"]}


def answer_for(
    kb: KnowledgeBase, intent: str, text: str = "", entities: Iterable[dict[str, Any]] | None = None
) -> Reply | None:
    """The reply to a faq_* intent, or None when the knowledge base has no such answer."""
    answer = kb.by_intent.get(intent)
    if answer is None:
        return None
    if not entities and (not text or text.startswith("/")):  # no question, or a button
        return compose(kb, answer)
    mentions = find(kb, text, entities)
    named = grounding.read(text, mentions, is_yes_no(text))
    body, sources, known = answer.text, list(answer.sources), answer.known
    special = SPECIAL.get(intent)
    result = special(kb, mentions, text, named) if special is not None else None
    if result is not None:
        if len(result) == 2:  # place answers: (text, known), facts from the areas table
            body, known = result
            sources = PLACE_SOURCES[intent]
        else:
            body, sources, known = result
    checked = grounding.ground(kb, named, body, known, sources)
    return compose(kb, answer, checked.body, checked.sources, checked.known)
