"""Import of a back-office CSV export: all rows or nothing.

One row is one status change of one application (the first row of a new application also
creates it). Separator ``;`` or ``,`` (taken from the header line); UTF-8 (with or without BOM)
or, failing that, Windows-1252 as Excel writes it. Columns (header names, any order, case
insensitive; see also docs/status.md):

  aanvraagnummer*, change_id*, status*, status_datum*, gemeente, gebied, ingediend_op,
  aangevraagd, toegekend_bedrag, ontbrekende_stukken, volgende_stap, volgende_stap_datum,
  verificatiecode, toelichting                                     (* = required column)

An empty cell means "unchanged". ``aangevraagd`` is ``thema:jaar:bedrag|thema:jaar:bedrag``.
Every row is validated; rejected rows are reported with Dutch reasons, and if any row is
rejected nothing at all is imported (one transaction).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core import db
from bot.status.feed import SOURCE_CSV, FeedError, apply_change
from bot.status.fields import validate_fields
from bot.status.verification import canonical_aanvraagnummer

COLUMNS = (
    "aanvraagnummer",
    "change_id",
    "status",
    "status_datum",
    "gemeente",
    "gebied",
    "ingediend_op",
    "aangevraagd",
    "toegekend_bedrag",
    "ontbrekende_stukken",
    "volgende_stap",
    "volgende_stap_datum",
    "verificatiecode",
    "toelichting",
)
REQUIRED_COLUMNS = ("aanvraagnummer", "change_id", "status", "status_datum")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000


@dataclass
class RejectedRow:
    line: int
    aanvraagnummer: str | None
    reasons: list[str]


@dataclass
class ImportReport:
    rows: int = 0
    applied: int = 0
    duplicates: int = 0
    created: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    imported: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.file_errors

    def format(self) -> str:
        """The report in Dutch, for the CLI."""
        lines: list[str] = []
        if self.file_errors:
            lines.append("Het bestand is niet geïmporteerd:")
            lines += [f"- {e}" for e in self.file_errors]
        if self.rejected:
            lines.append(f"Niets geïmporteerd: {len(self.rejected)} van {self.rows} regels afgekeurd.")
            for row in self.rejected:
                number = f" ({row.aanvraagnummer})" if row.aanvraagnummer else ""
                lines.append(f"- regel {row.line}{number}: " + "; ".join(row.reasons))
        if self.ok:
            verb = "Gecontroleerd (proefrun, niets opgeslagen)" if self.dry_run else "Geïmporteerd"
            lines.append(
                f"{verb}: {self.rows} regels, {self.applied} statuswijzigingen, "
                f"{self.created} nieuwe aanvragen, {self.duplicates} al eerder ontvangen."
            )
        return "\n".join(lines)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict")


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") and ";" in header_line else ","


def import_csv(
    source: str | Path | bytes,
    target: Session | Engine | str,
    *,
    dry_run: bool = False,
    timeout_s: float = 30.0,
) -> ImportReport:
    """Import ``source`` (a path, or the file's bytes) into ``target`` (URL, engine or session).

    With a URL or engine the import runs in its own transaction and is committed only when every
    row is accepted (and not ``dry_run``). With a session the caller commits; on rejection the
    session is rolled back here.
    """
    report = ImportReport(dry_run=dry_run)
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            if path.stat().st_size > MAX_BYTES:
                report.file_errors.append(f"het bestand is groter dan {MAX_BYTES // 1024 // 1024} MB")
                return report
            data = path.read_bytes()
        except OSError as exc:
            report.file_errors.append(f"het bestand kan niet worden gelezen ({exc.strerror})")
            return report
    else:
        data = bytes(source)
        if len(data) > MAX_BYTES:
            report.file_errors.append(f"het bestand is groter dan {MAX_BYTES // 1024 // 1024} MB")
            return report
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        report.file_errors.append("het bestand is geen UTF-8- of Windows-tekstbestand")
        return report

    if isinstance(target, Session):
        return _import_text(text, target, report, own_session=False)
    engine = db.make_engine(target, timeout_s) if isinstance(target, str) else target
    try:
        session = Session(bind=engine, future=True)
        try:
            return _import_text(text, session, report, own_session=True)
        finally:
            session.close()
    finally:
        if isinstance(target, str):
            engine.dispose()


def _import_text(text: str, session: Session, report: ImportReport, *, own_session: bool) -> ImportReport:
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        report.file_errors.append("het bestand is leeg of de eerste regel (de kolomnamen) ontbreekt")
        return report
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
    except csv.Error as exc:
        report.file_errors.append(f"de kolomnamen kunnen niet worden gelezen ({exc})")
        return report
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    doubles = sorted({h for h in header if header.count(h) > 1})
    if unknown:
        report.file_errors.append("onbekende kolommen: " + ", ".join(repr(h[:40]) for h in unknown))
    if missing:
        report.file_errors.append("verplichte kolommen ontbreken: " + ", ".join(missing))
    if doubles:
        report.file_errors.append("kolommen staan er dubbel in: " + ", ".join(doubles))
    if report.file_errors:
        return report

    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                report.rejected.append(RejectedRow(reader.line_num, None, [f"regel kan niet worden gelezen ({exc})"]))
                break
            if not any(c.strip() for c in cells):
                continue
            report.rows += 1
            if report.rows > MAX_ROWS:
                report.file_errors.append(f"meer dan {MAX_ROWS} regels")
                break
            _import_row(session, reader.line_num, header, cells, report)
    except SQLAlchemyError as exc:
        report.file_errors.append(f"databasefout, niets geïmporteerd ({type(exc).__name__}); probeer het later opnieuw")

    if report.rows == 0 and not report.file_errors and not report.rejected:
        report.file_errors.append("het bestand bevat geen regels met gegevens")
    if report.ok and not report.dry_run:
        if own_session:
            try:
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                report.file_errors.append(f"databasefout bij opslaan, niets geïmporteerd ({type(exc).__name__})")
                return report
        report.imported = True
    else:
        session.rollback()
    return report


def _import_row(session: Session, line: int, header: list[str], cells: list[str], report: ImportReport) -> None:
    if len(cells) != len(header):
        report.rejected.append(RejectedRow(line, None, [f"verwacht {len(header)} kolommen, gevonden {len(cells)}"]))
        return
    row: dict[str, str] = dict(zip(header, cells, strict=False))
    raw_number = row.pop("aanvraagnummer", "").strip()
    number = canonical_aanvraagnummer(raw_number)
    reasons: list[str] = []
    if not raw_number:
        reasons.append("aanvraagnummer ontbreekt")
    elif number is None:
        reasons.append("aanvraagnummer heeft niet de vorm KW-JJJJ-NNNN")
    for required in REQUIRED_COLUMNS[1:]:
        if not row.get(required, "").strip():
            reasons.append(f"{required} ontbreekt")
    values, errors = validate_fields(row, empty_is_unset=True)
    reasons += errors
    if not reasons and number is not None:
        try:
            outcome = apply_change(session, number, source=SOURCE_CSV, **values)
        except FeedError as exc:
            reasons += exc.errors
        else:
            report.created += int(outcome.created)
            report.applied += int(outcome.applied)
            report.duplicates += int(outcome.duplicate)
    if reasons:
        report.rejected.append(RejectedRow(line, number, reasons))
