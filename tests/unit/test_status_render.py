"""Dutch replies for status lookups (pure functions, no database)."""

import datetime as dt
import re
from typing import Any

from bot.status import render, statuses
from bot.status.service import (
    LOCKED,
    NOT_FOUND,
    OK,
    UNAVAILABLE,
    ApplicationView,
    LookupResult,
    RequestedLine,
)


def view(**overrides) -> ApplicationView:
    data: dict[str, Any] = dict(
        aanvraagnummer="KW-2025-0042",
        gemeente="Rotterdam",
        gebied="Rotterdam-Zuid",
        submitted_at=dt.date(2025, 3, 14),
        status="in_behandeling",
        requested=(
            RequestedLine("School en Omgeving", 2026, 75_000_000),
            RequestedLine("School en Omgeving", 2027, 50_000_000),
        ),
        granted_amount_cents=None,
        missing_items=None,
        next_step=None,
        next_step_date=None,
        status_since=dt.datetime(2025, 6, 1, 22, 30),  # UTC: 2 June in Amsterdam
        updated_at=dt.datetime(2025, 6, 1, 22, 30),
    )
    data.update(overrides)
    return ApplicationView(**data)


def titles(reply):
    return [b.title for b in reply.buttons]


def test_format_amount_and_date():
    assert render.format_amount(125_000_000) == "€ 1.250.000"
    assert render.format_amount(125_000_050) == "€ 1.250.000,50"
    assert render.format_amount(99) == "€ 0,99"
    assert render.format_amount(0) == "€ 0"
    assert render.format_amount(None) == "onbekend"
    assert render.format_date(dt.date(2025, 3, 14)) == "14 maart 2025"
    # Stored datetimes are UTC; shown in Dutch local time.
    assert render.format_date(dt.datetime(2025, 12, 31, 23, 30)) == "1 januari 2026"


def test_application_reply_has_status_meaning_next_step_dates_and_amounts():
    reply = render.render_result(LookupResult(OK, application=view()))
    text = reply.text
    status = statuses.get("in_behandeling")
    assert "KW-2025-0042" in text and "Rotterdam-Zuid" in text
    assert "Status: In behandeling (sinds 2 juni 2025)" in text
    assert "Wat betekent dit?" in text and status.explanation in text
    assert "Wat gebeurt er nu?" in text and status.next_step in text
    assert "Ingediend op 14 maart 2025." in text
    assert "Aangevraagd: € 1.250.000." in text
    assert "- School en Omgeving 2026: € 750.000" in text
    assert "Toegekend" not in text
    assert titles(reply) == ["Medewerker spreken"]
    assert reply.button_dicts() == [{"title": "Medewerker spreken", "payload": "/human_handoff"}]


def test_aanvulling_nodig_shows_what_is_missing_and_offers_the_button():
    app = view(status="aanvulling_nodig", missing_items="Een begroting per jaar.", next_step_date=dt.date(2025, 7, 1))
    reply = render.render_application(app)
    assert "Wat ontbreekt er?\nEen begroting per jaar." in reply.text
    assert "1 juli 2025" in reply.text
    assert titles(reply) == ["Wat moet ik aanleveren?", "Medewerker spreken"]
    follow = render.render_missing_items(app)
    assert "Een begroting per jaar." in follow.text and "1 juli 2025" in follow.text
    other = render.render_missing_items(view())
    assert "hoef je nu niets aan te leveren" in other.text


def test_decision_shows_granted_amount():
    reply = render.render_application(
        view(
            status="besluit_deels_toegekend",
            granted_amount_cents=100_000_000,
            next_step="Betaling van het voorschot",
            next_step_date=dt.date(2025, 9, 1),
        )
    )
    assert "Besluit genomen: deels toegekend" in reply.text
    assert "Toegekend: € 1.000.000." in reply.text
    assert "Volgende stap: Betaling van het voorschot (verwacht op 1 september 2025)." in reply.text


def test_every_status_renders_plain_dutch():
    for code in statuses.CODES:
        extra = {"missing_items": "x"} if code == "aanvulling_nodig" else {}
        text = render.render_application(view(status=code, **extra)).text
        assert statuses.get(code).label in text
        assert not re.search(r"\b(u|uw)\b", text)


def test_not_found_is_one_message_for_unknown_number_and_wrong_code():
    reply = render.render_result(LookupResult(NOT_FOUND))
    assert reply.text.startswith("Ik kan geen aanvraag vinden met dit nummer en deze code")
    assert reply == render.render_not_found()
    assert titles(reply) == ["Medewerker spreken"]
    portal = render.render_result(LookupResult(NOT_FOUND), portal=True, gemeente="Utrecht")
    assert "code" not in portal.text and "gemeente Utrecht" in portal.text


def test_locked_and_unavailable_offer_the_helpdesk():
    locked = render.render_result(LookupResult(LOCKED, retry_after_s=3600))
    assert "te vaak" in locked.text and "over ongeveer 60 minuten" in locked.text
    assert "over ongeveer 2 uur" in render.render_locked(7200).text
    assert "later" in render.render_locked(None).text
    assert titles(locked) == ["Medewerker spreken"]
    down = render.render_result(LookupResult(UNAVAILABLE))
    assert "lukt me nu niet" in down.text and "helpdesk" in down.text
    assert titles(down) == ["Medewerker spreken"]


def test_list_rendering():
    apps = (view(), view(aanvraagnummer="KW-2025-0050", gebied=None, status="ontvangen"))
    reply = render.render_result(LookupResult(OK, applications=apps, gemeente="rotterdam"))
    assert "Dit zijn de aanvragen van gemeente Rotterdam (2 aanvragen):" in reply.text
    assert "- KW-2025-0042 (Rotterdam-Zuid): In behandeling" in reply.text
    assert "- KW-2025-0050: Ontvangen" in reply.text
    assert titles(reply) == ["KW-2025-0042", "KW-2025-0050", "Medewerker spreken"]
    assert reply.buttons[0].payload == '/inform_aanvraagnummer{"aanvraagnummer": "KW-2025-0042"}'
    empty = render.render_list("Heerlen", ())
    assert "geen aanvragen van gemeente Heerlen" in empty.text
