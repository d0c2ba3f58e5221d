"""Demo applications for the default (demo) run, so a new user can try a status lookup.

The data is fictional, and every chat reply that shows a demo application says so
(``ApplicationView.demo``): its amounts per gemeente and its dates are not facts about the
regeling. Numbers and verificatiecodes are fixed, so they stay the same on every
run; loading twice changes nothing (status changes are idempotent by change_id, and an existing
demo application only gets its demo code back if someone changed it). Dates of status changes
and next steps are set relative to the first load, so they look current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.core import db
from bot.core.clock import utcnow
from bot.status import statuses
from bot.status.feed import SOURCE_DEMO, apply_change, get_application
from bot.status.verification import verify_code


class DemoApplication(NamedTuple):
    aanvraagnummer: str
    code: str
    gemeente: str
    status: str


def _amounts(*items: tuple[str, int, int]) -> list[tuple[str, int, int]]:
    return [(thema, jaar, euros * 100) for thema, jaar, euros in items]


def _demo(
    number: str,
    code: str,
    gemeente: str,
    gebied: str,
    submitted_at: dt.date,
    requested: Sequence[tuple[str, int, int]],
    changes: Sequence[tuple[Any, ...]],
) -> dict[str, Any]:
    """One demo application: requested ``(thema, jaar, euros)``, changes ``(status, days ago[,
    extra fields])``; change ids are ``demo-<last four digits>-<n>`` (loading twice is a no-op)."""
    return {
        "number": number,
        "code": code,
        "fields": {
            "gemeente": gemeente,
            "gebied": gebied,
            "submitted_at": submitted_at,
            "requested": _amounts(*requested),
        },
        "changes": [
            (f"demo-{number[-4:]}-{n}", change[0], change[1], change[2] if len(change) > 2 else {})
            for n, change in enumerate(changes, start=1)
        ],
    }


SCHOOL, GELDZORGEN, JONGE_KIND, SAMENHANG = (
    "School en Omgeving",
    "re-integratie en preventie van geldzorgen",
    "ontwikkeling van het jonge kind",
    "maatschappelijke samenhang",
)
DEMO: Sequence[dict[str, Any]] = (
    _demo(
        "KW-2025-0042",
        "KPWE-W74V",
        "Rotterdam",
        "Rotterdam-Zuid",
        dt.date(2025, 10, 6),
        [(SCHOOL, 2026, 450_000), (GELDZORGEN, 2026, 300_000), (SCHOOL, 2027, 500_000)],
        [("ontvangen", 40), ("in_behandeling", 12)],
    ),
    _demo(
        "KW-2025-0043",
        "3HPM-TPHP",
        "Utrecht",
        "Utrecht Overvecht",
        dt.date(2025, 10, 13),
        [(JONGE_KIND, 2026, 350_000), (SAMENHANG, 2026, 150_000)],
        [
            ("ontvangen", 35),
            ("in_behandeling", 20),
            (
                "aanvulling_nodig",
                5,
                {
                    "missing_items": "Een begroting per jaar voor het thema ontwikkeling van het jonge kind.",
                    "next_step_days": 14,
                },
            ),
        ],
    ),
    _demo(
        "KW-2025-0044",
        "4M9W-GY4U",
        "Heerlen",
        "Heerlen-Noord",
        dt.date(2025, 9, 29),
        [(GELDZORGEN, 2026, 600_000)],
        [("ontvangen", 50), ("in_behandeling", 30), ("besluit_toegekend", 3, {"granted_amount_cents": 600_000_00})],
    ),
    _demo(
        "KW-2025-0045",
        "NHEJ-QAHP",
        "Tilburg",
        "Tilburg NoordWest",
        dt.date(2025, 10, 1),
        [(JONGE_KIND, 2026, 400_000), ("financiële educatie", 2026, 100_000)],
        [
            ("ontvangen", 45),
            ("in_behandeling", 28),
            ("besluit_deels_toegekend", 6, {"granted_amount_cents": 400_000_00}),
        ],
    ),
    _demo(
        "KW-2025-0046",
        "CKUU-T6YR",
        "Amsterdam",
        "Amsterdam Nieuw-West",
        dt.date(2025, 11, 3),
        [(SCHOOL, 2026, 800_000)],
        [("ontvangen", 2)],
    ),
    _demo(
        "KW-2025-0047",
        "MWU6-DDRT",
        "Amsterdam",
        "Amsterdam Zuidoost",
        dt.date(2025, 9, 15),
        [(SAMENHANG, 2026, 250_000), (SAMENHANG, 2027, 250_000)],
        [
            ("ontvangen", 70),
            ("in_behandeling", 55),
            ("besluit_toegekend", 25, {"granted_amount_cents": 500_000_00}),
            ("bevoorschot", 10),
        ],
    ),
)


def load_demo_data(target: Session | Engine | str, timeout_s: float = 30.0) -> list[DemoApplication]:
    """Load the demo applications into ``target`` (session, engine or URL); idempotent.

    Returns ``[(aanvraagnummer, code, gemeente, status)]`` for printing. With a session the
    caller commits; with an engine or URL this function does.
    """
    if isinstance(target, Session):
        return _load(target)
    engine = db.make_engine(target, timeout_s) if isinstance(target, str) else target
    try:
        with db.session_scope(engine) as session:
            return _load(session)
    finally:
        if isinstance(target, str):
            engine.dispose()


def _load(session: Session) -> list[DemoApplication]:
    now = utcnow()
    today = now.date()
    rows: list[DemoApplication] = []
    for demo in DEMO:
        number, code = demo["number"], demo["code"]
        app = get_application(session, number)
        if app is not None:
            if not verify_code(code, app.code_hash):
                apply_change(session, number, source=SOURCE_DEMO, code=code)
            if app.gebied != demo["fields"]["gebied"]:
                # Area names follow the knowledge base (older demo runs stored "Overvecht").
                apply_change(session, number, source=SOURCE_DEMO, gebied=demo["fields"]["gebied"])
                app = get_application(session, number)
        else:
            for index, (change_id, status, days_ago, extra) in enumerate(demo["changes"]):
                extra = dict(extra)
                fields: dict[str, Any] = dict(demo["fields"]) if index == 0 else {}
                if "next_step_days" in extra:
                    fields["next_step_date"] = today + dt.timedelta(days=extra.pop("next_step_days"))
                fields.update(extra)
                apply_change(
                    session,
                    number,
                    source=SOURCE_DEMO,
                    change_id=change_id,
                    status=status,
                    at=now - dt.timedelta(days=days_ago),
                    code=code if index == 0 else None,
                    **fields,
                )
            app = get_application(session, number)
        assert app is not None  # it existed, or apply_change just made it
        rows.append(DemoApplication(number, code, app.gemeente, app.status))
    session.flush()
    return rows


def format_demo_table(rows: Sequence[DemoApplication]) -> str:
    """A small table for the run command: number, code, gemeente and status label."""
    lines = ["Demo-aanvragen om de status op te vragen (aanvraagnummer, verificatiecode):"]
    for row in rows:
        status = statuses.find(row.status)
        label = status.label if status else row.status
        lines.append(f"  {row.aanvraagnummer}  {row.code}  {row.gemeente:<10}  {label}")
    return "\n".join(lines)


class DemoDataInProduction(RuntimeError):
    """Demo applications exist while KW_ENV=production (the message says how to remove them)."""


def demo_numbers_present(target: Engine | str, timeout_s: float = 30.0) -> list[str]:
    """Aanvraagnummers of demo applications in the database (loaded by a demo run)."""
    from sqlalchemy import inspect, select

    from bot.status.models import Application, StatusChange

    engine = db.make_engine(target, timeout_s) if isinstance(target, str) else target
    with engine.connect() as conn:
        if not inspect(conn).has_table(StatusChange.__tablename__):
            return []
    with db.session_scope(engine) as session:
        return sorted(
            set(
                session.execute(
                    select(Application.aanvraagnummer).join(StatusChange).where(StatusChange.source == SOURCE_DEMO)
                ).scalars()
            )
        )


def remove_demo_data(target: Engine | str, timeout_s: float = 30.0) -> int:
    """Delete every application that came from the demo data; returns how many."""
    from sqlalchemy import select

    from bot.status.models import Application

    numbers = demo_numbers_present(target, timeout_s)
    engine = db.make_engine(target, timeout_s) if isinstance(target, str) else target
    with db.session_scope(engine) as session:
        for app in session.execute(select(Application).where(Application.aanvraagnummer.in_(numbers))).scalars():
            session.delete(app)
    return len(numbers)


def check_production(settings: Any) -> None:
    """In production, refuse to start while demo applications exist (their codes are public)."""
    if not settings.production:
        return
    numbers = demo_numbers_present(settings.database_url)
    if numbers:
        raise DemoDataInProduction(
            f"Er staan demo-aanvragen in de database ({', '.join(numbers)}) terwijl KW_ENV=production. "
            "Verwijder ze met: python -m bot demo-data-remove"
        )
