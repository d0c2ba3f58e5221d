"""Load and validate the knowledge base (kennisbank.yml).

Validation is strict and happens at load, so an editor's typo stops the action server at
start-up with a message naming the entry and the field, instead of surfacing as a wrong answer
in a conversation.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("kennisbank.yml")
MAX_ANSWER_WORDS = 80
URL_RE = re.compile(r"^https://[^\s]+$")
# How a text says plainly that something is not known. An entry whose text uses one of these
# must be `known: false` (so the helpdesk is offered), and a `known: false` entry must use one.
UNKNOWN_MARKERS = ("niet bekend", "weet ik niet", "niet geverifieerd", "heb ik niet", "niet zeker")


class KnowledgeBaseError(ValueError):
    """The knowledge base file is broken; the message names the entry and the field."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Answer:
    key: str
    intent: str
    text: str
    button: str
    sources: tuple[str, ...]
    checked: dt.date
    known: bool = True
    followups: tuple[str, ...] = ()
    #: Extra words for the second-chance retrieval (bot.knowledge.retrieval).
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    name: str
    gemeente: str
    inhabitants: int
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Gemeente:
    name: str
    aliases: tuple[str, ...]
    areas: tuple[Area, ...]


@dataclass(frozen=True)
class Example:
    area: str
    text: str
    sources: tuple[str, ...]
    confirmed: bool


@dataclass(frozen=True)
class Theme:
    key: str
    name: str
    text: str
    sources: tuple[str, ...]
    aliases: tuple[str, ...]
    known: bool = True
    #: Not a theme but a part of the budget (integraal budget, vast bedrag programmaorganisatie).
    budget: bool = False


@dataclass(frozen=True)
class Ministry:
    key: str
    name: str
    #: Contribution to 2026-2028; None for a ministry of the first tranche only (then `text`).
    amount: str | None
    aliases: tuple[str, ...]
    text: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Helpdesk:
    text: str
    sources: tuple[str, ...]
    checked: dt.date


@dataclass
class KnowledgeBase:
    sources: dict[str, Source]
    answers: dict[str, Answer]
    gemeenten: tuple[Gemeente, ...]
    examples: dict[str, Example]
    themes: tuple[Theme, ...]
    ministries: tuple[Ministry, ...]
    helpdesk: Helpdesk
    unknown_offer: str
    by_intent: dict[str, Answer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_intent = {a.intent: a for a in self.answers.values()}

    @property
    def areas(self) -> tuple[Area, ...]:
        return tuple(a for g in self.gemeenten for a in g.areas)


def normalise(text: str) -> str:
    """Lower case, accents and hyphens folded, for matching names typed in any style."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[-_/.,;:!?()\"]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# -- validation helpers --------------------------------------------------------------------


def _where(section: str, entry: Any) -> str:
    return f"{section}[{entry}]"


def _req(data: Any, key: str, where: str, kind: type = str) -> Any:
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{where}: expected a mapping, got {type(data).__name__}")
    if key not in data or data[key] is None:
        raise KnowledgeBaseError(f"{where}: field '{key}' is missing")
    value = data[key]
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeBaseError(f"{where}: field '{key}' must be non-empty text")
        return value.strip()
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise KnowledgeBaseError(f"{where}: field '{key}' must be {kind.__name__}")
    return value


def _text(data: Any, where: str) -> str:
    """Answer text with paragraph lines folded and "- " list items kept on their own lines."""
    raw = _req(data, "text", where)
    out: list[str] = []
    for line in (part.strip() for part in raw.splitlines()):
        if not line:
            continue
        if out and not line.startswith("- ") and not out[-1].startswith("- "):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    text = "\n".join(out)
    if re.search(r"<[a-zA-Z/!]", text):
        raise KnowledgeBaseError(f"{where}: field 'text' must not contain HTML")
    return text


def _sources(data: Any, where: str, known: dict[str, Source]) -> tuple[str, ...]:
    ids = _req(data, "sources", where, list)
    if not ids:
        raise KnowledgeBaseError(f"{where}: field 'sources' needs at least one source")
    for sid in ids:
        if sid not in known:
            raise KnowledgeBaseError(f"{where}: field 'sources' names unknown source {sid!r}")
    return tuple(ids)


def _date(data: Any, where: str) -> dt.date:
    value = data.get("checked")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise KnowledgeBaseError(f"{where}: field 'checked' must be a date YYYY-MM-DD")


def _aliases(data: dict[str, Any], where: str) -> tuple[str, ...]:
    value = data.get("aliases", [])
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        raise KnowledgeBaseError(f"{where}: field 'aliases' must be a list of names")
    return tuple(normalise(a) for a in value)


def _keyword_list(data: dict[str, Any], where: str) -> tuple[str, ...]:
    value = data.get("keywords", [])
    if not isinstance(value, list) or not all(isinstance(k, str) and k.strip() for k in value):
        raise KnowledgeBaseError(f"{where}: field 'keywords' must be a list of words")
    return tuple(k.strip() for k in value)


def _bool(data: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise KnowledgeBaseError(f"{where}: field '{key}' must be true or false")
    return value


def says_unknown(text: str) -> bool:
    low = text.lower()
    return any(marker in low for marker in UNKNOWN_MARKERS)


def _check_known(text: str, known: bool, where: str) -> None:
    if known and says_unknown(text):
        raise KnowledgeBaseError(f"{where}: field 'text' says something is not known, so set 'known: false'")
    if not known and not says_unknown(text):
        raise KnowledgeBaseError(
            f"{where}: 'known: false' but field 'text' does not say plainly what is not known "
            f"(use one of: {', '.join(UNKNOWN_MARKERS)})"
        )


def _list_section(raw: dict[str, Any], name: str) -> list[Any]:
    value = raw.get(name)
    if not isinstance(value, list) or not value:
        raise KnowledgeBaseError(f"{name}: section is missing or empty")
    return value


# -- parsing -------------------------------------------------------------------------------


def parse(raw: Any) -> KnowledgeBase:
    if not isinstance(raw, dict):
        raise KnowledgeBaseError("kennisbank: the file must be a YAML mapping")
    if raw.get("version") != 1:
        raise KnowledgeBaseError("version: must be 1")

    raw_sources = raw.get("sources")
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise KnowledgeBaseError("sources: section is missing or empty")
    sources: dict[str, Source] = {}
    for sid, entry in raw_sources.items():
        where = _where("sources", sid)
        url = _req(entry, "url", where)
        if not URL_RE.match(url):
            raise KnowledgeBaseError(f"{where}: field 'url' must be an https URL")
        sources[str(sid)] = Source(str(sid), _req(entry, "title", where), url)

    answers: dict[str, Answer] = {}
    intents: dict[str, str] = {}
    for i, entry in enumerate(_list_section(raw, "answers")):
        key = entry.get("key") if isinstance(entry, dict) else None
        where = _where("answers", key or i)
        key = _req(entry, "key", where)
        if key in answers:
            raise KnowledgeBaseError(f"{where}: field 'key' is used twice")
        intent = _req(entry, "intent", where)
        if not re.fullmatch(r"faq_[a-z_]+", intent):
            raise KnowledgeBaseError(f"{where}: field 'intent' must look like faq_<name>")
        if intent in intents:
            raise KnowledgeBaseError(f"{where}: field 'intent' {intent} is also used by {intents[intent]}")
        intents[intent] = key
        text = _text(entry, where)
        words = len(text.split())
        if words > MAX_ANSWER_WORDS:
            raise KnowledgeBaseError(f"{where}: field 'text' has {words} words, at most {MAX_ANSWER_WORDS}")
        followups = entry.get("followups", [])
        if not isinstance(followups, list):
            raise KnowledgeBaseError(f"{where}: field 'followups' must be a list")
        known = _bool(entry, "known", where, True)
        _check_known(text, known, where)
        answers[key] = Answer(
            key=key,
            intent=intent,
            text=text,
            button=_req(entry, "button", where),
            sources=_sources(entry, where, sources),
            checked=_date(entry, where),
            known=known,
            followups=tuple(followups),
            keywords=_keyword_list(entry, where),
        )
    for answer in answers.values():
        for ref in answer.followups:
            if ref not in answers or ref == answer.key:
                raise KnowledgeBaseError(f"answers[{answer.key}]: field 'followups' names unknown answer {ref!r}")

    gemeenten = []
    seen_names: dict[str, str] = {}
    for i, entry in enumerate(_list_section(raw, "gemeenten")):
        where = _where("gemeenten", entry.get("name", i) if isinstance(entry, dict) else i)
        name = _req(entry, "name", where)
        areas = []
        for j, area in enumerate(_req(entry, "areas", where, list)):
            awhere = f"{where}.areas[{area.get('name', j) if isinstance(area, dict) else j}]"
            inhabitants = _req(area, "inhabitants", awhere, int)
            if inhabitants <= 0:
                raise KnowledgeBaseError(f"{awhere}: field 'inhabitants' must be positive")
            areas.append(Area(_req(area, "name", awhere), name, inhabitants, _aliases(area, awhere)))
        if not areas:
            raise KnowledgeBaseError(f"{where}: field 'areas' needs at least one area")
        g = Gemeente(name, _aliases(entry, where), tuple(areas))
        for label in (g.name, *[a.name for a in g.areas]):
            norm = normalise(label)
            if norm in seen_names:
                raise KnowledgeBaseError(f"{where}: name {label!r} is used twice")
            seen_names[norm] = label
        gemeenten.append(g)
    area_names = {a.name for g in gemeenten for a in g.areas}

    examples: dict[str, Example] = {}
    for i, entry in enumerate(raw.get("examples") or []):
        where = _where("examples", entry.get("area", i) if isinstance(entry, dict) else i)
        area = _req(entry, "area", where)
        if area not in area_names:
            raise KnowledgeBaseError(f"{where}: field 'area' is not one of the areas")
        examples[area] = Example(
            area, _text(entry, where), _sources(entry, where, sources), _bool(entry, "confirmed", where, True)
        )

    themes = []
    for i, entry in enumerate(_list_section(raw, "themes")):
        where = _where("themes", entry.get("key", i) if isinstance(entry, dict) else i)
        theme = Theme(
            key=_req(entry, "key", where),
            name=_req(entry, "name", where),
            text=_text(entry, where),
            sources=_sources(entry, where, sources),
            aliases=_aliases(entry, where),
            known=_bool(entry, "known", where, True),
            budget=_bool(entry, "budget", where, False),
        )
        _check_known(theme.text, theme.known, where)
        themes.append(theme)

    ministries = []
    for i, entry in enumerate(_list_section(raw, "ministries")):
        where = _where("ministries", entry.get("key", i) if isinstance(entry, dict) else i)
        if isinstance(entry, dict) and entry.get("amount") is None:
            # A ministry without a 2026-2028 amount must say in its own text what it did.
            ministries.append(
                Ministry(
                    key=_req(entry, "key", where),
                    name=_req(entry, "name", where),
                    amount=None,
                    aliases=_aliases(entry, where),
                    text=_text(entry, where),
                    sources=_sources(entry, where, sources),
                )
            )
            continue
        ministries.append(
            Ministry(
                key=_req(entry, "key", where),
                name=_req(entry, "name", where),
                amount=_req(entry, "amount", where),
                aliases=_aliases(entry, where),
            )
        )

    raw_help = raw.get("helpdesk")
    helpdesk = Helpdesk(
        _text(raw_help, "helpdesk"), _sources(raw_help, "helpdesk", sources), _date(raw_help, "helpdesk")
    )
    offer = _req(raw, "unknown_offer", "kennisbank")

    return KnowledgeBase(
        sources, answers, tuple(gemeenten), examples, tuple(themes), tuple(ministries), helpdesk, offer
    )


def load(path: Path | None = None) -> KnowledgeBase:
    path = Path(path or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path.name}: not valid YAML: {exc}") from None
    return parse(raw)


_cached: KnowledgeBase | None = None


def get_knowledge_base() -> KnowledgeBase:
    """The knowledge base of this process, loaded once (the action server restarts on edits)."""
    global _cached
    if _cached is None:
        _cached = load()
    return _cached
