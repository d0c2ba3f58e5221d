"""CSV import (all rows or nothing) and the status CLI commands, on SQLite and PostgreSQL."""

import argparse
import re

import pytest
from sqlalchemy import func, select

from bot.core import db
from bot.settings import ROOT
from bot.status import cli, service
from bot.status.csv_import import COLUMNS, import_csv
from bot.status.models import Application, StatusChange
from bot.status.verification import verify_code
from tests.fixtures.status import stored
from tests.fixtures.text import match

GOOD = (  # an export as the back office writes it: two applications, three changes
    "aanvraagnummer;change_id;status;status_datum;gemeente;gebied;ingediend_op;aangevraagd;toegekend_bedrag;"
    "ontbrekende_stukken;volgende_stap;volgende_stap_datum;verificatiecode;toelichting\n"
    "KW-2025-0101;bo-1;ontvangen;2025-03-14;Breda;Breda-Noord;14-03-2025;"
    "School en Omgeving:2026:450.000|School en Omgeving:2027:€ 500.000,50;;;;;QYYG-WEJ4;eerste\n"
    'kw 2025 0101;bo-2;aanvulling_nodig;2025-04-01 10:30;;;;;;"Begroting per jaar; handtekening";Aanvullen;'
    "2025-05-01;;\n"
    'KW-2025-0102;bo-9;besluit_toegekend;2025-04-02;Delft;Delft-West;;;"1.000.000";;;;KPWE-W74V;\n'
)


def counts(url):
    with db.session_scope(db.make_engine(url, 5.0)) as s:
        return (
            s.execute(select(func.count()).select_from(Application)).scalar(),
            s.execute(select(func.count()).select_from(StatusChange)).scalar(),
        )


def write(tmp_path, content, name="export.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def test_valid_file_is_imported_and_reimport_is_idempotent(status_db_url, tmp_path):
    path = write(tmp_path, GOOD)
    report = import_csv(path, status_db_url)
    assert report.ok and report.imported, report.format()
    assert (report.rows, report.applied, report.created, report.duplicates) == (3, 3, 2, 0)
    assert counts(status_db_url) == (2, 3)
    with db.session_scope(db.make_engine(status_db_url, 5.0)) as s:
        app = stored(s, "KW-2025-0101")
        assert app.status == "aanvulling_nodig"
        assert app.missing_items == "Begroting per jaar; handtekening"
        assert [(a.jaar, a.amount_cents) for a in app.amounts] == [(2026, 45_000_000), (2027, 50_000_050)]
        assert str(app.next_step_date) == "2025-05-01" and str(app.submitted_at) == "2025-03-14"
        assert verify_code("QYYG-WEJ4", app.code_hash)
        assert stored(s, "KW-2025-0102").granted_amount_cents == 100_000_000
    again = import_csv(path, status_db_url)
    assert again.ok and again.duplicates == 3 and again.applied == 0
    assert counts(status_db_url) == (2, 3)
    assert "3 al eerder ontvangen" in again.format()


def test_comma_separated_excel_file_with_bom_and_cp1252(status_db_url, tmp_path):
    content = (
        "\ufeffAanvraagnummer,Change_ID,Status,Status_datum,Gemeente,Verificatiecode,Gebied\n"
        "KW-2025-0201,x1,ontvangen,2025-01-02,Den Haag,ABCD-EFGH,Zuidwest\n"
    )
    assert import_csv(write(tmp_path, content, "bom.csv"), status_db_url).imported
    latin = (
        "aanvraagnummer;change_id;status;status_datum;gemeente;verificatiecode;gebied\n"
        "KW-2025-0202;x1;ontvangen;2025-01-02;Súdwest-Fryslân;ABCD-EFGH;Één\n"
    )
    report = import_csv(write(tmp_path, latin, "latin.csv", "cp1252"), status_db_url)
    assert report.imported, report.format()
    result = service.list_for_gemeente("súdwest-fryslân", settings=_settings(status_db_url, tmp_path))
    assert [a.gebied for a in result.applications] == ["Één"]


def _settings(url, tmp_path):
    from tests.fixtures.databases import make_status_settings

    return make_status_settings(url, tmp_path)


def test_broken_rows_import_nothing_and_are_reported(status_db_url, tmp_path):
    broken = (
        GOOD
        + "\n".join(
            [
                "KW-2025-0103;bo-1;klaar;2025-04-02;Delft;;;;;;;;ABCD-EFGH;",
                "KW-2025-0104' OR '1'='1;bo-1;ontvangen;2025-04-02;Delft;;;;;;;;ABCD-EFGH;",
                "<script>alert(1)</script>;bo-1;ontvangen;2025-04-02;Delft;;;;;;;;ABCD-EFGH;",
                "KW-2025-0105;bo-1;ontvangen;2025-02-30;<b>Delft</b>;;;;veel;;;;ab;",
                "KW-2025-0106;bo-1;ontvangen;2025-04-02;;;;;;;;;;",
                "KW-2025-0107;bo-1;aanvulling_nodig;2025-04-02;Delft;;;;;;;;ABCD-EFGH;",
                "KW-2025-0101;bo-1;besluit_afgewezen;2025-04-02;;;;;;;;;;",
                "KW-2025-0108;;ontvangen;;Delft;;;;;;;;ABCD-EFGH;",
                "KW-2025-0109;bo-1;ontvangen",
                "KW-2025-0110;bo-1;ontvangen;2025-04-02;Delft;;;Onderwijs:twintig:5;;;;;ABCD-EFGH;",
            ]
        )
        + "\n"
    )
    report = import_csv(write(tmp_path, broken), status_db_url)
    assert not report.ok and not report.imported
    assert counts(status_db_url) == (0, 0)  # nothing, not even the good rows
    by_line = {r.line: r.reasons for r in report.rejected}
    assert sorted(by_line) == list(range(5, 15))
    expect = {
        5: "onbekende status 'klaar'",
        6: "aanvraagnummer heeft niet de vorm KW-JJJJ-NNNN",
        7: "aanvraagnummer heeft niet de vorm KW-JJJJ-NNNN",
        8: "status_datum '2025-02-30' bestaat niet",
        9: "gemeente is verplicht voor een nieuwe aanvraag",
        10: "ontbrekende_stukken is verplicht bij status aanvulling_nodig",
        11: "change_id 'bo-1' is al gebruikt",
        12: "change_id ontbreekt",
        13: "verwacht 14 kolommen, gevonden 3",
        14: "jaartal",
    }
    for line, reason in expect.items():
        assert any(reason in r for r in by_line[line]), (line, by_line[line])
    assert any("gemeente mag geen < of >" in r for r in by_line[8])
    assert any("toegekend_bedrag 'veel'" in r for r in by_line[8])
    assert any("verificatiecode is ongeldig" in r for r in by_line[8])
    text = report.format()
    assert text.startswith("Niets geïmporteerd: 10 van 13 regels afgekeurd.")
    assert "regel 5 (KW-2025-0103): onbekende status" in text
    assert "<script>" not in text and "ABCD-EFGH" not in text


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "leeg"),
        ("aanvraagnummer;status\nKW-2025-0001;ontvangen\n", "verplichte kolommen ontbreken: change_id, status_datum"),
        ("aanvraagnummer;change_id;status;status_datum;bsn\n", "onbekende kolommen: 'bsn'"),
        ("aanvraagnummer;change_id;status;status_datum;status\n", "dubbel"),
        ("aanvraagnummer;change_id;status;status_datum\n", "geen regels"),
    ],
)
def test_bad_files_are_refused(status_db_url, tmp_path, content, message):
    report = import_csv(write(tmp_path, content), status_db_url)
    assert not report.imported and message in report.format()
    assert counts(status_db_url) == (0, 0)


def test_dry_run_checks_without_saving(status_db_url, tmp_path):
    report = import_csv(write(tmp_path, GOOD), status_db_url, dry_run=True)
    assert report.ok and not report.imported and report.applied == 3
    assert "proefrun" in report.format()
    assert counts(status_db_url) == (0, 0)


STATUS_DOC = (ROOT / "docs" / "status.md").read_text(encoding="utf-8")


def doc_section(title: str) -> str:
    """One ``## `` section of docs/status.md."""
    return STATUS_DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def documented_columns() -> list[str]:
    """The field table's names: the CSV section says the column names come from it."""
    return re.findall(r"^\| `(\w+)` \|", doc_section("Fields (API JSON and CSV columns)"), re.M)


def documented_required_columns() -> list[str]:
    sentence = match(r"Required columns: ([^.]+)\.", doc_section("CSV import")).group(1)
    return re.findall(r"`(\w+)`", sentence)


def header_errors(columns: list[str], tmp_path) -> list[str]:
    """What the importer says of a file with this header line and no rows (it stops before the
    database, so an empty SQLite file will do)."""
    data = (";".join(columns) + "\n").encode("utf-8")
    return import_csv(data, f"sqlite:///{tmp_path / 'leeg.db'}").file_errors


def test_the_importer_accepts_every_documented_column(tmp_path):
    assert header_errors(documented_columns(), tmp_path) == ["het bestand bevat geen regels met gegevens"]


def test_every_column_the_importer_accepts_is_documented():
    assert sorted(set(COLUMNS) - set(documented_columns())) == []


def test_the_importer_requires_the_documented_required_columns(tmp_path):
    required = documented_required_columns()
    others = [c for c in documented_columns() if c not in required]
    assert header_errors(others, tmp_path) == ["verplichte kolommen ontbreken: " + ", ".join(required)]


def test_the_documented_example_file_is_accepted(status_db_url):
    example = match(r"```csv\n(.*?)```", doc_section("CSV import"), re.S).group(1)
    report = import_csv(example.encode("utf-8"), status_db_url, dry_run=True)
    assert report.ok and report.rows == 2, report.format()


def _parse(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_commands(sub)
    return parser.parse_args(argv)


def test_cli_commands(status_db_url, tmp_path, capsys):
    settings = _settings(status_db_url, tmp_path)
    args = _parse(["db-upgrade"])
    assert args.func(args, settings) == 0
    assert "0006_outbox" in capsys.readouterr().out

    args = _parse(["demo-data"])
    assert args.func(args, settings) == 0
    out = capsys.readouterr().out
    assert "KW-2025-0042  KPWE-W74V  Rotterdam" in out

    args = _parse(["import-status", str(write(tmp_path, GOOD))])
    assert args.func(args, settings) == 0
    assert "Geïmporteerd: 3 regels" in capsys.readouterr().out

    bad = write(tmp_path, GOOD + "KW-2025-0999;z;klaar;2025-01-01;X;;;;;;;;ABCD-EFGH;\n", "bad.csv")
    args = _parse(["import-status", str(bad), "--dry-run"])
    assert args.dry_run and args.func(args, settings) == 1
    assert "regel 5" in capsys.readouterr().err

    production = _settings(status_db_url, tmp_path)
    import dataclasses

    production = dataclasses.replace(production, env="production")
    args = _parse(["demo-data"])
    assert args.func(args, production) == 2
    # Production refuses to start while demo applications exist; demo-data-remove clears them.
    from bot.status import demo

    with pytest.raises(demo.DemoDataInProduction, match="demo-data-remove"):
        demo.check_production(production)
    args = _parse(["demo-data-remove"])
    assert args.func(args, settings) == 0
    demo.check_production(production)
