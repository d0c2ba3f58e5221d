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
from typing import Any, Dict, List, NamedTuple, Sequence, Union

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.status import db, statuses
from bot.status.feed import SOURCE_DEMO, apply_change, get_application
from bot.status.models import utcnow
from bot.status.verification import verify_code


class DemoApplication(NamedTuple):
    aanvraagnummer: str
    code: str
    gemeente: str
    status: str


def _amounts(*items):
    return [(thema, jaar, euros * 100) for thema, jaar, euros in items]


# (number, code, fields, [(change_id, status, days_ago, extra fields)])
DEMO: Sequence[Dict[str, Any]] = (
    {
        "number": "KW-2025-0042", "code": "KPWE-W74V",
        "fields": {"gemeente": "Rotterdam", "gebied": "Rotterdam-Zuid",
                   "submitted_at": dt.date(2025, 10, 6),
                   "requested": _amounts(("School en Omgeving", 2026, 450_000),
                                         ("re-integratie en preventie van geldzorgen", 2026, 300_000),
                                         ("School en Omgeving", 2027, 500_000))},
        "changes": [("demo-0042-1", "ontvangen", 40, {}),
                    ("demo-0042-2", "in_behandeling", 12, {})],
    },
    {
        "number": "KW-2025-0043", "code": "3HPM-TPHP",
        "fields": {"gemeente": "Utrecht", "gebied": "Utrecht Overvecht",
                   "submitted_at": dt.date(2025, 10, 13),
                   "requested": _amounts(("ontwikkeling van het jonge kind", 2026, 350_000),
                                         ("maatschappelijke samenhang", 2026, 150_000))},
        "changes": [("demo-0043-1", "ontvangen", 35, {}),
                    ("demo-0043-2", "in_behandeling", 20, {}),
                    ("demo-0043-3", "aanvulling_nodig", 5, {
                        "missing_items": "Een begroting per jaar voor het thema ontwikkeling "
                                         "van het jonge kind.",
                        "next_step_days": 14})],
    },
    {
        "number": "KW-2025-0044", "code": "4M9W-GY4U",
        "fields": {"gemeente": "Heerlen", "gebied": "Heerlen-Noord",
                   "submitted_at": dt.date(2025, 9, 29),
                   "requested": _amounts(("re-integratie en preventie van geldzorgen", 2026, 600_000))},
        "changes": [("demo-0044-1", "ontvangen", 50, {}),
                    ("demo-0044-2", "in_behandeling", 30, {}),
                    ("demo-0044-3", "besluit_toegekend", 3, {"granted_amount_cents": 600_000_00})],
    },
    {
        "number": "KW-2025-0045", "code": "NHEJ-QAHP",
        "fields": {"gemeente": "Tilburg", "gebied": "Tilburg NoordWest",
                   "submitted_at": dt.date(2025, 10, 1),
                   "requested": _amounts(("ontwikkeling van het jonge kind", 2026, 400_000),
                                         ("financiële educatie", 2026, 100_000))},
        "changes": [("demo-0045-1", "ontvangen", 45, {}),
                    ("demo-0045-2", "in_behandeling", 28, {}),
                    ("demo-0045-3", "besluit_deels_toegekend", 6,
                     {"granted_amount_cents": 400_000_00})],
    },
    {
        "number": "KW-2025-0046", "code": "CKUU-T6YR",
        "fields": {"gemeente": "Amsterdam", "gebied": "Amsterdam Nieuw-West",
                   "submitted_at": dt.date(2025, 11, 3),
                   "requested": _amounts(("School en Omgeving", 2026, 800_000))},
        "changes": [("demo-0046-1", "ontvangen", 2, {})],
    },
    {
        "number": "KW-2025-0047", "code": "MWU6-DDRT",
        "fields": {"gemeente": "Amsterdam", "gebied": "Amsterdam Zuidoost",
                   "submitted_at": dt.date(2025, 9, 15),
                   "requested": _amounts(("maatschappelijke samenhang", 2026, 250_000),
                                         ("maatschappelijke samenhang", 2027, 250_000))},
        "changes": [("demo-0047-1", "ontvangen", 70, {}),
                    ("demo-0047-2", "in_behandeling", 55, {}),
                    ("demo-0047-3", "besluit_toegekend", 25, {"granted_amount_cents": 500_000_00}),
                    ("demo-0047-4", "bevoorschot", 10, {})],
    },
)


def load_demo_data(target: Union[Session, Engine, str], timeout_s: float = 30.0
                   ) -> List[DemoApplication]:
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


def _load(session: Session) -> List[DemoApplication]:
    now = utcnow()
    today = now.date()
    rows: List[DemoApplication] = []
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
                fields: Dict[str, Any] = dict(demo["fields"]) if index == 0 else {}
                if "next_step_days" in extra:
                    fields["next_step_date"] = today + dt.timedelta(days=extra.pop("next_step_days"))
                fields.update(extra)
                apply_change(
                    session, number, source=SOURCE_DEMO, change_id=change_id, status=status,
                    at=now - dt.timedelta(days=days_ago),
                    code=code if index == 0 else None, **fields,
                )
            app = get_application(session, number)
        rows.append(DemoApplication(number, code, app.gemeente, app.status))
    session.flush()
    return rows


def format_demo_table(rows: Sequence[DemoApplication]) -> str:
    """A small table for the run command: number, code, gemeente and status label."""
    lines = ["Demo-aanvragen om de status op te vragen (aanvraagnummer, verificatiecode):"]
    for row in rows:
        label = statuses.find(row.status).label if statuses.find(row.status) else row.status
        lines.append(f"  {row.aanvraagnummer}  {row.code}  {row.gemeente:<10}  {label}")
    return "\n".join(lines)
