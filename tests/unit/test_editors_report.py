"""The editors' report on a real database (SQLite and PostgreSQL): question events as recorded,
helpdesk tickets as the handoff makes them, local days, ISO weeks, retention."""

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core import db
from bot.handoff.service import HandoffService, PermissionDenied
from bot.handoff.staff import StaffService
from bot.insights import record as rec
from bot.insights.models import ANSWERED, CHOICES, FALLBACK, REVISED, SECOND_CHANCE, TEXT_MAX
from bot.insights.report import LOW, build, overdue_answers, window
from bot.knowledge import check
from bot.knowledge.loader import load
from tests.fixtures.databases import HANDOFF_TABLES, TEST_CONTACT_KEY, emptied, make_status_settings
from tests.fixtures.handoff import staff_member

TZ = "Europe/Amsterdam"
TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def app_db(status_backend_url):
    """The migrated test database of this backend, without question events or tickets."""
    return emptied(status_backend_url, ("kw_question_events", *HANDOFF_TABLES))


@pytest.fixture(scope="module")
def kb():
    return load()


def rows(url):
    with db.session_scope(url) as s:
        return [
            tuple(r)
            for r in s.execute(text("SELECT kind, topic, confidence, text FROM kw_question_events ORDER BY id"))
        ]


def utc(y, m, d, hh=12, mm=0):
    return dt.datetime(y, m, d, hh, mm)


def test_record_masks_caps_and_keeps_text_only_where_an_editor_needs_it(app_db):
    rec.record(app_db, FALLBACK, text="Mail me op jan.jansen@example.nl of bel 06-12345678 ")
    rec.record(app_db, ANSWERED, topic="looptijd", confidence=0.97, text="Hoe lang loopt de regeling?")
    rec.record(app_db, ANSWERED, topic="looptijd", confidence=0.41, text="hoelang duurt t")
    rec.record(app_db, CHOICES, confidence=1.7, text="x" * 500)
    rec.record(app_db, SECOND_CHANCE, topic="gebieden", text="/faq_gebieden")
    got = rows(app_db)
    assert got[0] == (FALLBACK, None, None, "Mail me op [e-mailadres] of bel [telefoonnummer]")
    assert got[1] == (ANSWERED, "looptijd", 0.97, None)  # confident: no text kept
    assert got[2] == (ANSWERED, "looptijd", 0.41, "hoelang duurt t")
    assert got[3][2] == 1.0 and len(got[3][3]) == TEXT_MAX and got[3][3].endswith("…")
    assert got[4][3] is None  # a button payload is no question
    with pytest.raises(ValueError):
        rec.record(app_db, "iets", text="x")


def test_days_are_local_days_with_empty_days_and_the_window_edge(app_db, kb):
    start, since = window(TODAY, 7, dt.UTC)
    assert start == dt.date(2026, 11, 24) and since == dt.datetime(2026, 11, 24)
    rec.record(app_db, ANSWERED, topic="looptijd", confidence=0.99, at=utc(2026, 11, 23, 22, 59))  # 23:59 local: out
    rec.record(app_db, ANSWERED, topic="looptijd", confidence=0.99, at=utc(2026, 11, 23, 23, 0))  # 00:00 local: in
    rec.record(app_db, FALLBACK, text="blabla", at=utc(2026, 11, 29, 23, 30))  # 30 Nov 00:30 local
    rec.record(app_db, FALLBACK, text="Blabla!", at=utc(2026, 11, 30, 8))
    HandoffService(app_db, contact_key=TEST_CONTACT_KEY).create_ticket(
        "c-1", "Ik wil iemand spreken", now=utc(2026, 11, 30, 9)
    )
    report = build(app_db, kb, days=7, timezone=TZ, today=TODAY)
    assert (report.start, report.end, report.days) == (dt.date(2026, 11, 24), TODAY, 7)
    assert [(d.day.day, d.questions, d.fallbacks, d.handoffs) for d in report.per_day] == [
        (24, 1, 0, 0),
        (25, 0, 0, 0),
        (26, 0, 0, 0),
        (27, 0, 0, 0),
        (28, 0, 0, 0),
        (29, 0, 0, 0),
        (30, 2, 2, 1),
    ]
    assert report.totals["questions"] == 3 and report.totals["handoffs"] == 1
    assert [(g.label, g.count) for g in report.questions] == [("Blabla!", 2)]  # tie: the newest wording


def test_questions_needing_attention_are_grouped_with_what_happened(app_db, kb):
    t = utc(2026, 11, 30, 10)
    for i, (kind, conf, words) in enumerate(
        [
            (FALLBACK, 0.3, "Krijg ik geld voor een speeltuin?"),
            (CHOICES, 0.4, "krijg ik geld voor een speeltuin"),
            (SECOND_CHANCE, 0.5, "Krijg ik geld voor mijn speeltuin??"),
            (REVISED, 0.8, "welk deel van Dordrecht"),
            (ANSWERED, 0.5, "Welk deel van Dordrecht doet mee"),
            (ANSWERED, 0.95, "Welke delen van Dordrecht doen mee?"),
        ]
    ):
        rec.record(app_db, kind, topic="gebieden", confidence=conf, text=words, at=t + dt.timedelta(minutes=i))
    report = build(app_db, kb, days=7, timezone=TZ, today=TODAY)
    assert [(g.count, dict(g.tags)) for g in report.questions] == [
        (3, {FALLBACK: 1, CHOICES: 1, SECOND_CHANCE: 1}),
        (2, {REVISED: 1, LOW: 1}),
    ]
    assert report.totals[LOW] == 1 and report.totals["questions"] == 6


def test_topics_per_week_newest_week_first_with_answer_titles(app_db, kb):
    key, other = "looptijd", "gebieden"
    assert key in kb.answers and other in kb.answers
    for day, topic, n in (
        (utc(2026, 11, 17), key, 1),
        (utc(2026, 11, 18), other, 3),
        (utc(2026, 11, 25), key, 4),
        (utc(2026, 11, 26), other, 2),
    ):
        for _ in range(n):
            rec.record(app_db, ANSWERED, topic=topic, confidence=0.99, at=day)
    rec.record(app_db, FALLBACK, topic="faq_onbekend", text="?", at=utc(2026, 11, 25))  # no topic asked
    report = build(app_db, kb, days=14, timezone=TZ, today=TODAY)
    assert [(t.week, t.key, t.count) for t in report.topics] == [
        (48, key, 4),
        (48, other, 2),
        (47, other, 3),
        (47, key, 1),
    ]
    assert report.topics[0].title == kb.answers[key].button and report.topics[0].monday == dt.date(2026, 11, 23)


def test_handoff_reasons_come_from_the_tickets_masked_grouped_with_their_outcome(app_db, kb):
    service = HandoffService(app_db, contact_key=TEST_CONTACT_KEY)
    staff = StaffService(app_db).create_user("bea", "Bea", "een-lang-wachtwoord", "beheerder")
    asked = [
        ("Waar blijft mijn geld? Bel 06-12345678", 1),
        ("waar blijft mijn geld", 2),
        ("Waar blijft ons geld?", 3),
        ("Ik wil mijn aanvraag wijzigen", 4),
    ]
    made = [service.create_ticket(f"c-{i}", q, now=utc(2026, 11, 20 + i)) for q, i in asked]
    service.close(made[0].id, staff, now=utc(2026, 11, 29))
    report = build(app_db, kb, days=28, timezone=TZ, today=TODAY)
    first = report.reasons[0]
    assert first.count == 3 and first.last == utc(2026, 11, 23)
    assert dict(first.tags) == {"afgerond": 1, "wachtrij": 2}
    assert all("12345678" not in g.label and all("12345678" not in v for v in g.variants) for g in report.reasons)
    assert [g.label for g in report.reasons][1] == "Ik wil mijn aanvraag wijzigen"


def test_answers_past_their_check_date_follow_kb_check(kb):
    newest = max(a.checked for a in kb.answers.values())
    assert overdue_answers(kb, newest) == []
    late = newest + dt.timedelta(days=check.DEFAULT_MAX_AGE_DAYS + 1)
    rows_ = overdue_answers(kb, late)
    assert {r.key for r in rows_} == {r.key for r in check.build(kb, late, tested=set()).overdue}
    assert len(rows_) == len(kb.answers)
    assert rows_ == sorted(rows_, key=lambda r: (-r.age_days, r.key))


def test_the_read_is_bounded_and_says_so(app_db, kb):
    for i in range(5):
        rec.record(app_db, FALLBACK, text=f"vraag {i}", at=utc(2026, 11, 30, 8, i))
    report = build(app_db, kb, days=7, timezone=TZ, today=TODAY, max_rows=3)
    assert report.truncated and report.totals["questions"] == 3


def test_retention_purges_old_question_events(app_db, tmp_path):
    from bot.retention import purge

    settings = make_status_settings(
        app_db, tmp_path, KW_RETENTION_DAYS="30", KW_TRACKER_STORE_URL=f"sqlite:///{tmp_path / 'tracker.db'}"
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rec.record(app_db, FALLBACK, text="oud", at=now - dt.timedelta(days=31))
    rec.record(app_db, FALLBACK, text="nieuw", at=now - dt.timedelta(days=29))
    report = purge(settings)
    assert report.questions == 1
    assert [r[3] for r in rows(app_db)] == ["nieuw"]


def test_the_role_redacteur_is_allowed_by_the_schema_and_others_are_not(app_db):
    staff = StaffService(app_db)
    user = staff.create_user("rita", "Rita Redactie", "een-lang-wachtwoord", "redacteur")
    assert user.role == "redacteur" and user.reads_insights and not user.works_helpdesk
    # The handoff library refuses a redacteur too, not only the console.
    service = HandoffService(app_db, contact_key=TEST_CONTACT_KEY)
    ticket = service.create_ticket("c-rita", "Een vraag")
    for act in (
        lambda: service.claim(ticket.id, user),
        lambda: service.add_note(ticket.id, user, "x"),
        lambda: service.close(ticket.id, user),
    ):
        with pytest.raises(PermissionDenied):
            act()
    assert service.get_ticket(ticket.id).state == "wachtrij"
    assert staff.change_role("rita", "medewerker").works_helpdesk
    assert service.claim(ticket.id, staff_member(staff, "rita")).state == "opgepakt"
    with pytest.raises(IntegrityError), db.session_scope(app_db) as s:
        s.execute(text("UPDATE handoff_staff_users SET role = 'baas' WHERE username = 'rita'"))


def test_the_cli_offers_the_role_redacteur(tmp_path, monkeypatch, capsys):
    from bot.cli import build_parser

    settings = make_status_settings(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)
    monkeypatch.setenv("KW_NEW_STAFF_PASSWORD", "een-lang-wachtwoord")
    args = build_parser().parse_args(["staff-create", "rita", "Rita Redactie", "--role", "redacteur"])
    assert args.func(args, settings) == 0
    assert "rol redacteur" in capsys.readouterr().out
    args = build_parser().parse_args(["staff-role", "rita", "beheerder"])
    assert args.func(args, settings) == 0
    assert staff_member(StaffService(settings.database_url), "rita").role == "beheerder"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["staff-role", "rita", "baas"])
