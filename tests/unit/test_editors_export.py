"""CSV downloads of the editors' page: formula injection, encoding, quoting (bot/insights/export.py)."""

import csv
import datetime as dt
import io

import pytest

from bot.insights.export import BOM, EXPORTS, export, safe_cell, to_csv
from bot.insights.grouping import Group
from bot.insights.report import DayRow, OverdueRow, Report, TopicRow


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://x","klik")',
        "+31 6 1234",
        "-2+3",
        "@SUM(A1:A2)",
        "\tformule",
        "\r=1+1",
        "  =1+1",
        "\uff1d1+1",
        "\nregel",
    ],
)
def test_text_that_could_start_a_formula_gets_an_apostrophe(dangerous):
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Wanneer kan ik aanvragen?", "Wanneer kan ik aanvragen?"),
        ("a=b", "a=b"),
        ("e-mail", "e-mail"),
        ("", ""),
        (None, ""),
        (3, 3),
        (0.5, 0.5),
        (True, "ja"),
        (dt.date(2026, 11, 30), "2026-11-30"),
        (dt.datetime(2026, 11, 30, 8, 5), "2026-11-30T08:05:00"),
    ],
)
def test_other_values_are_written_as_they_are(value, expected):
    assert safe_cell(value) == expected


def read(data: bytes):
    assert data.startswith(BOM.encode("utf-8"))
    text = data.decode("utf-8")[1:]
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_csv_has_bom_semicolons_quotes_and_survives_a_round_trip():
    data = to_csv(
        ["vraag", "aantal"], [["=cmd|' /C calc'!A0", 2], ['Zeg "hoi"; en dan', 1], ["twee\nregels", 3], ["café één", 4]]
    )
    rows = read(data)
    assert rows[0] == ["vraag", "aantal"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "2"]
    assert rows[2] == ['Zeg "hoi"; en dan', "1"]
    assert rows[3] == ["twee\nregels", "3"]
    assert rows[4] == ["café één", "4"]
    assert b"\r\n" in data


def sample_report():
    g = Group(label="-1 vraag met min", count=2, last=dt.datetime(2026, 11, 30, 9), variants=["@ andere"])
    g.tags.update({"fallback": 2})
    r = Report(start=dt.date(2026, 11, 3), end=dt.date(2026, 11, 30), max_age_days=180)
    r.questions = [g]
    r.reasons = [Group(label="+31 bel mij", count=1, last=dt.datetime(2026, 11, 29, 9))]
    r.reasons[0].tags.update({"afgerond": 1})
    r.topics = [TopicRow(2026, 48, dt.date(2026, 11, 23), "looptijd", "Voor welke jaren?", 5)]
    r.per_day = [DayRow(dt.date(2026, 11, 30), 10, 2, 1)]
    r.overdue = [OverdueRow("oud", "=Oud antwoord", dt.date(2025, 1, 1), 700)]
    return r


def test_every_export_is_escaped_and_named_after_its_period():
    report = sample_report()
    assert set(EXPORTS) == {"vragen", "overdrachten", "onderwerpen", "dagen", "controle"}
    files = {name: export(report, name) for name in EXPORTS}
    assert files["vragen"][0] == "redactie-vragen-2026-11-03-2026-11-30.csv"
    vragen = read(files["vragen"][1])
    assert vragen[1][:4] == ["'-1 vraag met min", "2", "2026-11-30T09:00:00", "niet begrepen 2"]
    assert vragen[1][4] == "'@ andere"
    assert read(files["overdrachten"][1])[1][:4] == ["'+31 bel mij", "1", "2026-11-29T09:00:00", "Afgerond 1"]
    assert read(files["onderwerpen"][1])[1] == ["2026", "48", "2026-11-23", "Voor welke jaren?", "looptijd", "5"]
    assert read(files["dagen"][1]) == [
        ["dag", "vragen", "niet begrepen", "naar een medewerker"],
        ["2026-11-30", "10", "2", "1"],
    ]
    assert read(files["controle"][1])[1] == ["oud", "'=Oud antwoord", "2025-01-01", "700"]
    with pytest.raises(KeyError):
        export(report, "alles")
