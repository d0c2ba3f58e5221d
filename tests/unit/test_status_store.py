"""Migrations, the feed (apply_change) and the demo data, on SQLite and PostgreSQL."""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core import db
from bot.status import demo
from bot.status.feed import FeedConflict, FeedError, FeedNotFound, apply_change, apply_fields
from bot.status.fields import parse_amount, parse_datetime, validate_fields
from bot.status.models import Application, RequestedAmount, StatusChange
from bot.status.verification import verify_code
from tests.fixtures.status import stored

T0 = dt.datetime(2025, 5, 1, 10, 0)


@pytest.fixture
def session(status_db_url):
    engine = db.make_engine(status_db_url, 5.0)
    with db.session_scope(engine) as s:
        yield s
    engine.dispose()


def count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar()


def create(session, number="KW-2025-0042", **extra):
    fields: dict[str, Any] = dict(
        gemeente="Rotterdam", gebied="Rotterdam-Zuid", change_id="c1", status="ontvangen", at=T0, code="ABCD-EFGH"
    )
    fields.update(extra)
    return apply_change(session, number, source="api", **fields)


# --------------------------------------------------------------------------- migrations

# --------------------------------------------------------------------------- feed


def test_create_and_history(session):
    outcome = create(session, requested=[("School en Omgeving", 2026, 45_000_000)], submitted_at=dt.date(2025, 3, 14))
    assert outcome.created and outcome.applied and not outcome.duplicate
    app = stored(session, "KW-2025-0042")
    assert app.status == "ontvangen" and app.gemeente_key == "rotterdam"
    assert app.code_hash.startswith("$argon2id$") and verify_code("abcd efgh", app.code_hash)
    assert [(a.thema, a.jaar, a.amount_cents) for a in app.amounts] == [("School en Omgeving", 2026, 45_000_000)]
    second = apply_change(
        session, "kw 2025 0042", source="api", change_id="c2", status="in_behandeling", at=T0 + dt.timedelta(days=1)
    )
    assert not second.created and second.applied and second.status == "in_behandeling"
    assert [c.status for c in app.changes] == ["ontvangen", "in_behandeling"]


def test_change_is_idempotent_by_number_and_change_id(session):
    create(session)
    kwargs: dict[str, Any] = dict(source="api", change_id="c2", status="in_behandeling", at=T0 + dt.timedelta(days=1))
    first = apply_change(session, "KW-2025-0042", **kwargs)
    again = apply_change(session, "KW-2025-0042", **kwargs)
    assert first.applied and not first.duplicate
    assert again.duplicate and not again.applied and again.status == "in_behandeling"
    assert count(session, StatusChange) == 2
    # The same change_id on another application is a different change.
    create(session, "KW-2025-0043")
    assert apply_change(session, "KW-2025-0043", **kwargs).applied
    with pytest.raises(FeedConflict):
        apply_change(session, "KW-2025-0042", source="api", change_id="c2", status="besluit_afgewezen")


def test_older_change_goes_into_history_but_does_not_replace_status(session):
    create(session)
    apply_change(
        session,
        "KW-2025-0042",
        source="api",
        change_id="c3",
        status="besluit_toegekend",
        at=T0 + dt.timedelta(days=10),
        granted_amount_cents=100,
    )
    late = apply_change(
        session, "KW-2025-0042", source="api", change_id="c2", status="in_behandeling", at=T0 + dt.timedelta(days=5)
    )
    assert late.applied and late.status == "besluit_toegekend"
    app = stored(session, "KW-2025-0042")
    session.refresh(app)
    assert [c.change_id for c in app.changes] == ["c1", "c2", "c3"]


def test_aanvulling_nodig_needs_missing_items_and_clears_them_later(session):
    create(session)
    with pytest.raises(FeedError) as info:
        apply_change(
            session,
            "KW-2025-0042",
            source="api",
            change_id="c2",
            status="aanvulling_nodig",
            at=T0 + dt.timedelta(days=1),
        )
    assert "ontbrekende_stukken" in info.value.errors[0]
    assert stored(session, "KW-2025-0042").status == "ontvangen"  # nothing changed
    apply_change(
        session,
        "KW-2025-0042",
        source="api",
        change_id="c2",
        status="aanvulling_nodig",
        at=T0 + dt.timedelta(days=1),
        missing_items="Begroting 2026",
    )
    assert stored(session, "KW-2025-0042").missing_items == "Begroting 2026"
    apply_change(
        session, "KW-2025-0042", source="api", change_id="c3", status="in_behandeling", at=T0 + dt.timedelta(days=2)
    )
    assert stored(session, "KW-2025-0042").missing_items is None


def test_create_requires_gemeente_status_and_code(session):
    with pytest.raises(FeedError) as info:
        apply_change(session, "KW-2025-0042", source="api", gebied="x")
    text = " ".join(info.value.errors)
    assert "gemeente is verplicht" in text and "verificatiecode is verplicht" in text
    with pytest.raises(FeedNotFound):
        apply_change(session, "KW-2025-0042", source="api", create=False, change_id="c1", status="ontvangen")
    with pytest.raises(FeedError):
        apply_change(
            session,
            "KW-2025-0042' OR 1=1",
            source="api",
            change_id="c1",
            status="ontvangen",
            gemeente="X",
            code="ABCDEFGH",
        )
    assert count(session, Application) == 0


def test_update_fields_replace_amounts_and_clear(session):
    create(session, requested=[("A", 2026, 100), ("B", 2026, 200)], next_step_date=dt.date(2025, 6, 1))
    apply_fields(
        session,
        "KW-2025-0042",
        {
            "aangevraagd": [{"thema": "A", "jaar": 2026, "bedrag": "1.000,50"}],
            "volgende_stap_datum": None,
            "gemeente": "  Den  Haag ",
        },
        source="api",
    )
    app = stored(session, "KW-2025-0042")
    assert [(a.thema, a.amount_cents) for a in app.amounts] == [("A", 100_050)]
    assert app.next_step_date is None and app.gemeente_key == "den haag"
    assert count(session, RequestedAmount) == 1


def test_validate_fields_messages_are_dutch():
    values, errors = validate_fields(
        {
            "status": "klaar",
            "status_datum": "31-02-2025",
            "toegekend_bedrag": "veel",
            "gemeente": "<script>x</script>",
            "aangevraagd": "A:20x6:100",
            "verificatiecode": "ab",
            "onbekend": 1,
            "change_id": "a b",
        }
    )
    joined = " | ".join(errors)
    for part in (
        "onbekende status 'klaar'",
        "status_datum '31-02-2025' bestaat niet",
        "toegekend_bedrag 'veel' is geen geldig bedrag",
        "gemeente mag geen < of >",
        "jaartal",
        "verificatiecode is ongeldig",
        "onbekend veld 'onbekend'",
        "change_id mag alleen",
    ):
        assert part in joined, part
    assert "ab" not in next(e for e in errors if "verificatiecode" in e).split("(")[0]
    assert values == {}


@pytest.mark.parametrize(
    "raw,cents",
    [
        (1250000, 125_000_000),
        (1250000.5, 125_000_050),
        ("1.250.000", 125_000_000),
        ("€ 1.250.000,50", 125_000_050),
        ("1250000,5", 125_000_050),
        ("1,250,000.00", 125_000_000),
        ("1250000.25", 125_000_025),
        ("1.250.000,-", 125_000_000),
        ("0", 0),
    ],
)
def test_parse_amount(raw, cents):
    assert parse_amount(raw) == cents


@pytest.mark.parametrize("raw", [True, -5, "1,2,3", "1.2.3", "12.345,678", "abc", float("nan"), "1e9"])
def test_parse_amount_rejects(raw):
    with pytest.raises(ValueError):
        parse_amount(raw)


def test_parse_datetime_reads_local_time_and_stores_utc():
    assert parse_datetime("2025-07-01T12:00:00") == dt.datetime(2025, 7, 1, 10, 0)  # CEST
    assert parse_datetime("2025-01-01 12:00") == dt.datetime(2025, 1, 1, 11, 0)  # CET
    assert parse_datetime("2025-07-01T12:00:00Z") == dt.datetime(2025, 7, 1, 12, 0)
    assert parse_datetime("01-07-2025") == dt.datetime(2025, 6, 30, 22, 0)


# --------------------------------------------------------------------------- demo data


def test_demo_data_is_idempotent_with_stable_codes(status_db_url):
    first = demo.load_demo_data(status_db_url)
    second = demo.load_demo_data(status_db_url)
    assert first == second
    assert len(first) >= 6
    assert len({row.gemeente for row in first}) >= 5
    assert len({row.status for row in first}) >= 5
    number, code, _gemeente, _status = first[0]
    assert (number, code) == ("KW-2025-0042", "KPWE-W74V")
    engine = db.make_engine(status_db_url, 5.0)
    try:
        with db.session_scope(engine) as s:
            assert count(s, Application) == len(first)
            changes = count(s, StatusChange)
            assert changes == sum(len(d["changes"]) for d in demo.DEMO)
            for row in first:
                app = stored(s, row.aanvraagnummer)
                assert verify_code(row.code, app.code_hash)
                assert app.status == row.status
            # Someone changed a demo code: the next load puts the demo code back.
            stored(s, "KW-2025-0043").code_hash = "broken"
        demo.load_demo_data(engine)
        with db.session_scope(engine) as s:
            assert verify_code("3HPM-TPHP", stored(s, "KW-2025-0043").code_hash)
            assert count(s, StatusChange) == changes
    finally:
        engine.dispose()
    table = demo.format_demo_table(first)
    assert "KW-2025-0042  KPWE-W74V  Rotterdam" in table
