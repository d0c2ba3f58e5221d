"""`python -m bot kb check`: what editors of the knowledge base need to look at.

Lists every answer with its last check date, word count, sources and whether it is known, and
then the lists that need work: answers past the check age, unknown facts (so an editor can add
one when a source appears), and answers that no test question reaches. The loader has already
refused anything invalid; this report is about upkeep, not validity.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.loader import MAX_ANSWER_WORDS, KnowledgeBase, KnowledgeBaseError, load
from bot.settings import ROOT, Settings

DEFAULT_MAX_AGE_DAYS = 180
TEST_DIRS = (ROOT / "tests" / "nlu", ROOT / "tests" / "stories")
INTENT_LINE = re.compile(r"^\s*-?\s*intent:\s*([a-z_]+)\s*$", re.M)


@dataclass
class AnswerRow:
    key: str
    intent: str
    checked: dt.date
    age_days: int
    words: int
    sources: list[str]
    known: bool
    tested: bool


@dataclass
class Report:
    today: dt.date
    max_age_days: int
    rows: list[AnswerRow] = field(default_factory=list)
    helpdesk_age_days: int = 0
    #: Themes and budget parts marked known: false (they have no check date of their own).
    unknown_themes: list[str] = field(default_factory=list)

    @property
    def overdue(self) -> list[AnswerRow]:
        return [r for r in self.rows if r.age_days > self.max_age_days]

    @property
    def unknown(self) -> list[AnswerRow]:
        return [r for r in self.rows if not r.known]

    @property
    def untested(self) -> list[AnswerRow]:
        return [r for r in self.rows if not r.tested]


def intents_with_test_questions(paths: Iterable[Path] = TEST_DIRS) -> set[str]:
    """Intents that a test question (held-out NLU sets, test stories) is labelled with."""
    found: set[str] = set()
    for base in paths:
        for path in sorted(Path(base).rglob("*.yml")):
            found.update(INTENT_LINE.findall(path.read_text(encoding="utf-8")))
    return found


def build(
    kb: KnowledgeBase, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS, tested: set[str] | None = None
) -> Report:
    tested = intents_with_test_questions() if tested is None else tested
    report = Report(today, max_age_days, helpdesk_age_days=(today - kb.helpdesk.checked).days)
    for a in kb.answers.values():
        report.rows.append(
            AnswerRow(
                key=a.key,
                intent=a.intent,
                checked=a.checked,
                age_days=(today - a.checked).days,
                words=len(a.text.split()),
                sources=list(a.sources),
                known=a.known,
                tested=a.intent in tested,
            )
        )
    report.unknown_themes = [t.key for t in kb.themes if not t.known]
    return report


def _keys(rows: list[AnswerRow]) -> str:
    return ", ".join(r.key for r in rows) if rows else "geen"


def format_report(report: Report) -> str:
    width = max(len(r.key) for r in report.rows)
    lines = [
        f"Kennisbank-controle op {report.today.isoformat()} "
        f"(controleren na {report.max_age_days} dagen, hoogstens {MAX_ANSWER_WORDS} woorden)",
        "",
        f"{'antwoord':<{width}}  gecontroleerd  dagen  woorden  bekend  testvraag  bronnen",
    ]
    for r in report.rows:
        lines.append(
            f"{r.key:<{width}}  {r.checked.isoformat()}     {r.age_days:>5}  {r.words:>7}  "
            f"{'ja' if r.known else 'nee':<6}  {'ja' if r.tested else 'nee':<9}  "
            f"{', '.join(r.sources)}"
        )
    lines += [
        "",
        f"Over de controledatum (ouder dan {report.max_age_days} dagen): {_keys(report.overdue)}",
        f"Helpdesktekst: {report.helpdesk_age_days} dagen geleden gecontroleerd"
        + (" (over de controledatum)" if report.helpdesk_age_days > report.max_age_days else ""),
        f"Niet bekend (known: false, de helpdesk wordt aangeboden): {_keys(report.unknown)}",
        f"Niet bekend in de thema's: {', '.join(report.unknown_themes) or 'geen'}",
        f"Zonder testvraag in tests/nlu of tests/stories: {_keys(report.untested)}",
        f"Woorden: gemiddeld {sum(r.words for r in report.rows) // len(report.rows)}, "
        f"langste {max(report.rows, key=lambda r: r.words).key} "
        f"({max(r.words for r in report.rows)})",
    ]
    return "\n".join(lines)


def cmd_kb_check(args: argparse.Namespace, settings: Settings | None = None) -> int:
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    except ValueError:
        print(f"Ongeldige datum {args.today!r}: gebruik JJJJ-MM-DD.", file=sys.stderr)
        return 2
    try:
        kb = load(args.file) if args.file else load()
    except (KnowledgeBaseError, OSError) as exc:
        print(f"De kennisbank kan niet worden gelezen: {exc}", file=sys.stderr)
        return 2
    report = build(kb, today, args.max_age)
    print(format_report(report))
    if args.strict and (report.overdue or report.untested):
        return 1
    return 0


def add_commands(sub: Any) -> None:
    kb = sub.add_parser("kb", help="kennisbank: controle voor redacteuren")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    p = kb_sub.add_parser("check", help="controledatum, woorden, bronnen, onbekende feiten, testvragen")
    p.add_argument(
        "--max-age",
        type=int,
        default=DEFAULT_MAX_AGE_DAYS,
        help=f"dagen na de laatste controle (standaard {DEFAULT_MAX_AGE_DAYS})",
    )
    p.add_argument("--today", help="peildatum JJJJ-MM-DD (standaard vandaag)")
    p.add_argument("--file", type=Path, help="een ander kennisbankbestand")
    p.add_argument(
        "--strict", action="store_true", help="exitcode 1 bij antwoorden over de controledatum of zonder testvraag"
    )
    p.set_defaults(func=cmd_kb_check)
