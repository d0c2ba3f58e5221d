"""CSV downloads of the editors' report, safe to open in a spreadsheet.

* Formula injection (CWE-1236): a text cell that a spreadsheet could read as a formula (it starts
  with ``= + - @``, a tab or a line break, also after leading spaces or in full-width form) gets
  a leading apostrophe. Numbers and dates are written as they are.
* UTF-8 with a byte-order mark and ``;`` between fields: Excel with Dutch settings opens it in
  columns with the accents intact. Quoting is the csv module's (RFC 4180 quotes).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot import texts
from bot.handoff.states import LABELS as STATE_LABELS
from bot.insights.grouping import Group
from bot.insights.report import Report

BOM = "\ufeff"
DELIMITER = ";"
#: First characters a spreadsheet may take as the start of a formula or a command.
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: Any) -> Any:
    """A value for a CSV cell: text that could start a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    stripped = text.lstrip(" \u00a0")
    if text and (text[0] in FORMULA_STARTS or (stripped and stripped[0] in FORMULA_STARTS)):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The bytes of one CSV file: BOM, header, rows; every cell through ``safe_cell``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _tags(group: Group, labels: dict[str, str]) -> str:
    return ", ".join(f"{labels.get(k, k)} {n}" for k, n in group.tags.most_common())


def _questions(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["vraag (gemaskeerd)", "aantal", "laatst (UTC)", "hoe", "andere woorden"]
    rows = [
        [g.label, g.count, g.last, _tags(g, texts.INSIGHT_KIND_LABELS), " | ".join(g.variants)]
        for g in report.questions
    ]
    return header, rows


def _reasons(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["reden (gemaskeerd)", "aantal", "laatst (UTC)", "afloop", "andere woorden"]
    rows = [[g.label, g.count, g.last, _tags(g, STATE_LABELS), " | ".join(g.variants)] for g in report.reasons]
    return header, rows


def _topics(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["jaar", "week", "maandag", "onderwerp", "antwoord", "aantal"]
    return header, [[t.year, t.week, t.monday, t.title, t.key, t.count] for t in report.topics]


def _days(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["dag", "vragen", "niet begrepen", "naar een medewerker"]
    return header, [[d.day, d.questions, d.fallbacks, d.handoffs] for d in report.per_day]


def _overdue(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["antwoord", "knop", "gecontroleerd", "dagen geleden"]
    return header, [[o.key, o.title, o.checked, o.age_days] for o in report.overdue]


#: Download name (in the URL and the file name) → what it holds.
EXPORTS: dict[str, Callable[[Report], tuple[list[str], list[list[Any]]]]] = {
    "vragen": _questions,
    "overdrachten": _reasons,
    "onderwerpen": _topics,
    "dagen": _days,
    "controle": _overdue,
}


def export(report: Report, name: str) -> tuple[str, bytes]:
    """(file name, CSV bytes) of one download; KeyError for an unknown name."""
    header, rows = EXPORTS[name](report)
    filename = f"redactie-{name}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return filename, to_csv(header, rows)
