"""Turn knowledge-base entries into replies: short Dutch text, its sources, follow-up buttons.

Every reply about the regeling carries its sources (as data, :class:`bot.core.reply.Reply`);
answers the knowledge base marks as unknown always offer the helpdesk. Parameterised answers (areas, themes, ministries, examples)
are composed here from the tables, never from free text in the code.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

from bot.core.reply import HANDOFF_BUTTON, Button, Reply, Source
from bot.knowledge.loader import Answer, KnowledgeBase
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


def _not_nplv(kb: KnowledgeBase, place: str) -> str:
    names = ", ".join(g.name for g in kb.gemeenten[:-1]) + f" en {kb.gemeenten[-1].name}"
    return (f"Nee, {place} heeft geen NPLV-focusgebied en valt niet onder de SPUK Kansrijke Wijk. "
            f"Alleen deze 19 gemeenten kunnen aanvragen: {names}.")


def _areas_text(kb: KnowledgeBase, m: Mentions) -> Optional[str]:
    lines = []
    for area in m.areas:
        lines.append(f"Ja, **{area.name}** (gemeente {area.gemeente}) is een van de 20 "
                     f"NPLV-focusgebieden, met ongeveer {thousands(area.inhabitants)} inwoners.")
    for g in m.gemeenten:
        if len(g.areas) == 1:
            lines.append(f"Ja, {g.name} doet mee met het focusgebied **{g.areas[0].name}** "
                         f"(ongeveer {thousands(g.areas[0].inhabitants)} inwoners).")
        else:
            names = " en ".join(f"**{a.name}**" for a in g.areas)
            lines.append(f"{g.name} heeft {len(g.areas)} focusgebieden: {names}.")
    if m.others and not lines:
        return _not_nplv(kb, m.others[0])
    for place in m.others:
        lines.append(f"{place} heeft geen NPLV-focusgebied.")
    return " ".join(lines) or None


def _inwoners_text(kb: KnowledgeBase, m: Mentions) -> Optional[str]:
    areas = list(m.areas) + [a for g in m.gemeenten for a in g.areas]
    if not areas:
        return _not_nplv(kb, m.others[0]) if m.others else None
    parts = [f"In **{a.name}** wonen ongeveer {thousands(a.inhabitants)} mensen" for a in areas]
    return "; ".join(parts) + " (1 januari 2025). In alle 20 gebieden samen zijn het er ongeveer 1,2 miljoen."


def _themes_text(kb: KnowledgeBase, m: Mentions):
    if not m.themes:
        return None
    theme = m.themes[0]
    return theme.text, list(theme.sources), theme.known


def _ministry_text(kb: KnowledgeBase, m: Mentions) -> Optional[str]:
    if not m.ministries:
        return None
    parts = [f"{x.name[0].upper()}{x.name[1:]} draagt **{x.amount}** bij" for x in m.ministries]
    return " en ".join(parts) + " aan de SPUK Kansrijke Wijk 2026-2028. In totaal is er ruim € 400 miljoen."


def _example_text(kb: KnowledgeBase, m: Mentions):
    areas = list(m.areas) + [a for g in m.gemeenten for a in g.areas]
    for area in areas:
        example = kb.examples.get(area.name)
        if example:
            text = example.text
            if not example.confirmed:
                text += " (Dit staat in het persbericht van juli 2025; een tweede bron heb ik niet.)"
            return text, list(example.sources), True
    if areas:
        text = (f"Voor {areas[0].name} heb ik geen voorbeeld in mijn kennisbank. "
                "Voorbeelden die ik wel heb, komen uit Groningen-Noord, Tilburg NoordWest, "
                "Heerlen-Noord en Zaandam-Oost.")
        return text, ["S11"], False
    if m.others:
        return _not_nplv(kb, m.others[0]), ["S15", "S16"], True
    return None


def _bedrag_text(kb: KnowledgeBase, m: Mentions) -> Optional[str]:
    names = [a.name for a in m.areas] + [g.name for g in m.gemeenten]
    if not names:
        return None
    return (f"Hoeveel {names[0]} krijgt, is bij mij niet bekend: bedragen per gemeente of gebied "
            "en de verdeelsleutel heb ik niet. De gemeente vindt het bedrag in haar eigen "
            "beschikking. In totaal is er voor 2026-2028 ruim € 400 miljoen.")


# intent -> function(kb, mentions) returning text, or (text, sources, known), or None
SPECIAL: Dict[str, Callable] = {
    "faq_gebieden": _areas_text,
    "faq_wie_aanvragen": _areas_text,
    "faq_inwoners": _inwoners_text,
    "faq_themas": _themes_text,
    "faq_bijdrage_ministerie": _ministry_text,
    "faq_voorbeelden": _example_text,
    "faq_bedrag_gemeente": _bedrag_text,
}
PLACE_SOURCES = {"faq_gebieden": ["S15", "S16"], "faq_wie_aanvragen": ["S1", "S15"],
                 "faq_inwoners": ["S16"], "faq_bedrag_gemeente": ["S3", "S1"],
                 "faq_bijdrage_ministerie": ["S1", "S5"]}


def answer_for(kb: KnowledgeBase, intent: str, text: str = "",
               entities: Optional[Iterable[dict]] = None) -> Optional[Reply]:
    """The reply to a faq_* intent, or None when the knowledge base has no such answer."""
    answer = kb.by_intent.get(intent)
    if answer is None:
        return None
    special = SPECIAL.get(intent)
    if special is not None:
        result = special(kb, find(kb, text, entities))
        if isinstance(result, tuple):
            body, sources, known = result
            return compose(kb, answer, body, sources, known)
        if result:
            # Place answers are facts from the areas table: known, whatever the general entry says.
            known = True if intent != "faq_bedrag_gemeente" else False
            return compose(kb, answer, result, PLACE_SOURCES[intent], known)
    return compose(kb, answer)
