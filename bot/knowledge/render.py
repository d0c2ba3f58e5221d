"""Turn knowledge-base entries into replies: short Dutch text, its sources, follow-up buttons.

Every reply about the regeling carries its sources (as data, :class:`bot.core.reply.Reply`);
answers the knowledge base marks as unknown always offer the helpdesk. Parameterised answers (areas, themes, ministries, examples)
are composed here from the tables, never from free text in the code.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.core.reply import HANDOFF_BUTTON, Button, Reply, Source
from bot.knowledge.loader import Answer, Gemeente, KnowledgeBase, normalise
from bot.knowledge.places import Mentions, find

MAX_BUTTONS = 3


def thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _sources(kb: KnowledgeBase, ids: Sequence[str]) -> Tuple[Source, ...]:
    return tuple(Source(kb.sources[i].title, kb.sources[i].url) for i in dict.fromkeys(ids))


def answer_button(kb: KnowledgeBase, key: str) -> Button:
    """The button that asks for the knowledge-base answer ``key``."""
    answer = kb.answers[key]
    return Button(answer.button, f"/{answer.intent}")


def _buttons(kb: KnowledgeBase, keys: Iterable[str], handoff: bool = False) -> Tuple[Button, ...]:
    buttons = [HANDOFF_BUTTON] if handoff else []
    buttons += [answer_button(kb, key) for key in keys]
    return tuple(buttons[:MAX_BUTTONS])


def compose(kb: KnowledgeBase, answer: Answer, text: Optional[str] = None,
            sources: Optional[Sequence[str]] = None, known: Optional[bool] = None) -> Reply:
    """A reply in the shape of `answer` (its checked date, follow-ups), optionally with other text."""
    known = answer.known if known is None else known
    body = text if text is not None else answer.text
    if not known:
        body = f"{body}\n\n{kb.unknown_offer}"
    ids = sources if sources is not None else answer.sources
    return Reply(body, _buttons(kb, answer.followups, handoff=not known), _sources(kb, ids),
                 answer.checked)


def helpdesk_reply(kb: KnowledgeBase, lead: str = "", handoff: bool = False) -> Reply:
    """How to reach the helpdesk (with ``handoff``: and the button to ask for a person now)."""
    body = f"{lead} {kb.helpdesk.text}".strip()
    return Reply(body, (HANDOFF_BUTTON,) if handoff else (), _sources(kb, kb.helpdesk.sources),
                 kb.helpdesk.checked)


# -- parameterised answers -------------------------------------------------------------------

# A Dutch yes/no question starts with the finite verb ("Is …", "Hoort …", "Doet … mee?"); only
# then may an answer start with "Ja," or "Nee,".
YES_NO_VERBS = frozenset("""is zijn hoort horen behoort behoren valt vallen doet doen zit zitten
    kan kunnen mag mogen heeft hebben krijgt krijgen komt komen staat staan geldt gelden ligt
    liggen telt tellen wordt worden was waren zou zouden moet moeten gaat gaan""".split())
PEILDATUM = "op 1 januari 2025"
BOUNDARY = ("Welke buurten en straten precies bij een focusgebied horen, is bij mij niet bekend. "
            "Dat staat in het programmadocument van het NPLV.")


def is_yes_no(text: str) -> bool:
    words = normalise(text or "").split()
    return bool(words) and words[0] in YES_NO_VERBS


def _not_nplv(kb: KnowledgeBase, place: str, yes_no: bool = True) -> str:
    names = ", ".join(g.name for g in kb.gemeenten[:-1]) + f" en {kb.gemeenten[-1].name}"
    lead = f"Nee, {place}" if yes_no else place
    return (f"{lead} heeft geen NPLV-focusgebied en valt niet onder de SPUK Kansrijke Wijk. "
            f"Alleen deze 19 gemeenten kunnen aanvragen: {names}.")


def _area_names(g: Gemeente) -> str:
    return " en ".join(f"**{a.name}**" for a in g.areas)


def _districts_text(m: Mentions) -> List[str]:
    lines = []
    for g, label in m.districts:
        area = "het focusgebied" if len(g.areas) == 1 else "de focusgebieden"
        lines.append(f"{label} staat niet in de lijst van de 20 NPLV-focusgebieden. In {g.name} is "
                     f"{area} {_area_names(g)}.")
    return lines


def _areas_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    yes = "Ja, " if is_yes_no(text) else ""
    lines = _districts_text(m)
    district_gemeenten = [g for g, _ in m.districts]
    for area in m.areas:
        lines.append(f"{yes}**{area.name}** (gemeente {area.gemeente}) is een van de 20 "
                     f"NPLV-focusgebieden, met ongeveer {thousands(area.inhabitants)} inwoners "
                     f"{PEILDATUM}.")
        yes = ""
    for g in m.gemeenten:
        if g in district_gemeenten:
            continue
        if len(g.areas) == 1:
            lines.append(f"{yes}{g.name} doet mee met het focusgebied **{g.areas[0].name}** "
                         f"(ongeveer {thousands(g.areas[0].inhabitants)} inwoners {PEILDATUM}).")
        else:
            parts = " en ".join(f"**{a.name}** (ongeveer {thousands(a.inhabitants)} inwoners)"
                                for a in g.areas)
            lines.append(f"{yes}{g.name} heeft {len(g.areas)} focusgebieden: {parts}, {PEILDATUM}.")
        yes = ""
    if m.others and not lines:
        lines.append(_not_nplv(kb, m.others[0], bool(yes)))
        others = m.others[1:]
    else:
        others = m.others
    for place in others:
        lines.append(f"{place} heeft geen NPLV-focusgebied.")
    if not lines:
        return None
    unknown = bool(m.districts) or (m.asks_boundary and bool(m.areas or m.gemeenten))
    if unknown:
        lines.append(BOUNDARY)
    return " ".join(lines), not unknown


def _inwoners_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    areas = list(m.areas) + [a for g in m.gemeenten for a in g.areas]
    areas += [a for g, _ in m.districts for a in g.areas if a not in areas]
    if not areas:
        return (_not_nplv(kb, m.others[0], is_yes_no(text)), True) if m.others else None
    parts = [f"in **{a.name}** wonen ongeveer {thousands(a.inhabitants)} mensen" for a in areas]
    body = "; ".join(parts)
    body = (f"{body[0].upper()}{body[1:]} ({PEILDATUM}). "
            "In alle 20 gebieden samen zijn het er ongeveer 1,2 miljoen.")
    lines = _districts_text(m) + [body]
    unknown = bool(m.districts) or m.asks_boundary
    if unknown:
        lines.append(BOUNDARY)
    return " ".join(lines), not unknown


def _budget_part(m: Mentions):
    part = next((t for t in m.themes if t.budget), None)
    return (part.text, list(part.sources), part.known) if part else None


def _themes_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    if not m.themes:
        return None
    theme = m.themes[0]
    return theme.text, list(theme.sources), theme.known


def _ministry_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    if not m.ministries:
        return None
    paying = [x for x in m.ministries if x.amount]
    lines, sources = [], []
    if paying:
        parts = [f"{x.name} draagt **{x.amount}** bij" for x in paying]
        sentence = " en ".join(parts)
        lines.append(f"{sentence[0].upper()}{sentence[1:]} aan de SPUK Kansrijke Wijk 2026-2028. "
                     "In totaal is er ruim € 400 miljoen.")
        sources += ["S1", "S5"]
    for x in m.ministries:
        if not x.amount:
            lines.append(x.text)
            sources += [s for s in x.sources if s not in sources]
    return " ".join(lines), sources, True


def _example_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    areas = list(m.areas) + [a for g in m.gemeenten for a in g.areas]
    for area in areas:
        example = kb.examples.get(area.name)
        if example:
            body = example.text
            if not example.confirmed:
                body += " (Dit staat in het persbericht van juli 2025; een tweede bron heb ik niet.)"
            return body, list(example.sources), True
    if areas:
        body = (f"Voor {areas[0].name} heb ik geen voorbeeld in mijn kennisbank. "
                "Voorbeelden die ik wel heb, komen uit Groningen-Noord, Tilburg NoordWest, "
                "Heerlen-Noord en Zaandam-Oost.")
        return body, ["S11"], False
    if m.others:
        return _not_nplv(kb, m.others[0], is_yes_no(text)), ["S15", "S16"], True
    return None


def _bedrag_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    names = [a.name for a in m.areas] + [g.name for g in m.gemeenten]
    if not names:
        return _budget_part(m)
    return (f"Hoeveel {names[0]} krijgt, is bij mij niet bekend: bedragen per gemeente of gebied "
            "en de verdeelsleutel heb ik niet. In totaal is er voor 2026-2028 ruim € 400 miljoen.",
            ["S3", "S1"], False)


def _budget_totaal_text(kb: KnowledgeBase, m: Mentions, text: str = ""):
    return _budget_part(m)


# intent -> function(kb, mentions, text) returning (text, sources, known) or None.
SPECIAL: Dict[str, Callable] = {
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
PLACE_SOURCES = {"faq_gebieden": ["S15", "S16"], "faq_wie_aanvragen": ["S1", "S15"],
                 "faq_inwoners": ["S16"]}


def answer_for(kb: KnowledgeBase, intent: str, text: str = "",
               entities: Optional[Iterable[dict]] = None) -> Optional[Reply]:
    """The reply to a faq_* intent, or None when the knowledge base has no such answer."""
    answer = kb.by_intent.get(intent)
    if answer is None:
        return None
    special = SPECIAL.get(intent)
    if special is not None:
        result = special(kb, find(kb, text, entities), text)
        if result is not None:
            if len(result) == 2:  # place answers: (text, known), facts from the areas table
                body, known = result
                return compose(kb, answer, body, PLACE_SOURCES[intent], known)
            body, sources, known = result
            return compose(kb, answer, body, sources, known)
    return compose(kb, answer)
