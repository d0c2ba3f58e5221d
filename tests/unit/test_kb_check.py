"""`python -m bot kb check`: the editors' report, run as the real command."""

import datetime as dt
import subprocess
import sys

from bot.knowledge.check import build, intents_with_test_questions
from bot.knowledge.loader import get_knowledge_base
from bot.settings import ROOT


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "bot", "kb", "check", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_command_lists_every_answer_with_its_facts():
    kb = get_knowledge_base()
    result = run("--today", "2026-12-01")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for key, answer in kb.answers.items():
        line = next(row for row in out.splitlines() if row.startswith(key + " "))
        assert answer.checked.isoformat() in line and ", ".join(answer.sources) in line
        assert f" {len(answer.text.split())} " in line
    assert "Over de controledatum (ouder dan 180 dagen): geen" in out
    assert "Niet bekend (known: false, de helpdesk wordt aangeboden): deadline" in out
    assert "financiele_educatie" in out.split("Niet bekend in de thema's:")[1].splitlines()[0]


def test_every_answer_has_a_test_question():
    report = build(get_knowledge_base(), dt.date(2026, 12, 1))
    assert not report.untested, [r.key for r in report.untested]


def test_answers_past_the_check_age_are_listed_and_fail_strict_mode():
    result = run("--today", "2027-09-01", "--max-age", "200", "--strict")
    assert result.returncode == 1
    overdue = result.stdout.split("Over de controledatum (ouder dan 200 dagen): ")[1].splitlines()[0]
    assert "wat_is" in overdue and "aanvragen_vanaf" in overdue
    assert run("--today", "2026-12-01", "--strict").returncode == 0


def test_an_intent_without_a_test_question_is_reported(tmp_path):
    (tmp_path / "t.yml").write_text("nlu:\n- intent: faq_wat_is\n  examples: |\n    - x\n", encoding="utf-8")
    report = build(get_knowledge_base(), dt.date(2026, 12, 1), tested=intents_with_test_questions([tmp_path]))
    untested = {r.key for r in report.untested}
    assert "wat_is" not in untested and "deadline" in untested


def test_a_broken_file_or_date_gets_a_clear_message(tmp_path):
    broken = tmp_path / "kennisbank.yml"
    broken.write_text("version: 1\nsources: {}\n", encoding="utf-8")
    result = run("--file", str(broken))
    assert result.returncode == 2 and "De kennisbank kan niet worden gelezen: sources" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("--today", "gisteren")
    assert result.returncode == 2 and "Ongeldige datum" in result.stderr
