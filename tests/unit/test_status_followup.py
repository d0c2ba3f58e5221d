"""Questions about the status just shown ("hoeveel hebben we gekregen?") are answered from that
status alone: what it holds is stated, what it does not hold is said to be not known."""

import datetime as dt
import re

import pytest

from bot.status import followup, statuses
from bot.status.service import ApplicationView, RequestedLine

OFFER = "Wil je dit navragen?"


def view(status, granted=None, requested=(), next_step=None, next_date=None, since=None, demo=False):
    return ApplicationView(
        aanvraagnummer="KW-2026-0042",
        gemeente="Breda",
        gebied="Breda-Noord",
        submitted_at=dt.date(2025, 9, 1),
        status=status,
        requested=tuple(RequestedLine("School en Omgeving", 2026, c) for c in requested),
        granted_amount_cents=granted,
        missing_items=None,
        next_step=next_step,
        next_step_date=next_date,
        status_since=since,
        updated_at=None,
        demo=demo,
    )


def ask(app, text, intent=""):
    return followup.answer(followup.snapshot(app), text, intent, OFFER)


def test_the_snapshot_holds_only_what_the_status_showed():
    shown = followup.snapshot(
        view(
            "besluit_toegekend",
            granted=125_000_000,
            requested=(100_000_000, 50_000_000),
            since=dt.datetime(2026, 3, 3, 10, 0),
            next_step="Betaling",
            next_date=dt.date(2026, 4, 1),
        )
    )
    assert shown == {
        "number": "KW-2026-0042",
        "status": "besluit_toegekend",
        "label": "Besluit genomen: toegekend",
        "granted": "€ 1.250.000",
        "requested": "€ 1.500.000",
        "since": "3 maart 2026",
        "next_step": "Betaling",
        "next_date": "1 april 2026",
        "demo": False,
    }


@pytest.mark.parametrize(
    "text, intent, topic",
    [
        ("hoeveel hebben we gekregen?", "faq_bedrag_gemeente", followup.AMOUNT),
        ("hoeveel is ons toegekend", "status_vervolg", followup.AMOUNT),
        ("wanneer krijgen we het geld?", "faq_betaling", followup.PAYMENT),
        ("is het al overgemaakt?", "status_vervolg", followup.PAYMENT),
        ("wanneer komt het besluit?", "status_vervolg", followup.DECISION),
        ("waarom is het afgewezen?", "status_vervolg", followup.DECISION),
        ("wat is de volgende stap?", "status_vervolg", followup.NEXT),
        ("en nu?", "faq_betaling", followup.PAYMENT),
        ("en nu?", "status_vervolg", followup.NEXT),
    ],
)
def test_the_topic_comes_from_the_words_then_the_intent(text, intent, topic):
    assert followup.topic(text, intent) == topic


def test_the_granted_amount_is_stated_with_what_was_requested():
    reply = ask(
        view("besluit_deels_toegekend", granted=80_000_000, requested=(100_000_000,)), "hoeveel hebben we gekregen?"
    )
    assert "€ 800.000 toegekend" in reply.text and "Aangevraagd was € 1.000.000" in reply.text
    assert OFFER not in reply.text and reply.buttons[0].payload == "/human_handoff"


def test_no_amount_before_a_decision():
    reply = ask(view("in_behandeling", requested=(100_000_000,)), "hoeveel krijgen we?")
    assert "nog geen besluit" in reply.text and "nog geen bedrag toegekend" in reply.text
    assert "Aangevraagd is € 1.000.000" in reply.text


def test_a_granted_status_without_an_amount_says_it_is_not_known():
    reply = ask(view("besluit_toegekend"), "hoeveel hebben we gekregen?")
    assert "niet bekend" in reply.text and OFFER in reply.text
    assert "€" not in reply.text.split(OFFER)[0]


def test_payment_only_as_far_as_the_status_goes():
    reply = ask(view("besluit_toegekend", granted=1_000), "wanneer krijgen we het geld?")
    assert "betaling staat nog niet in de status" in reply.text and "niet bekend" in reply.text
    assert OFFER in reply.text
    reply = ask(view("uitbetaald", since=dt.datetime(2026, 5, 2, 9, 0)), "is het geld al betaald?")
    assert "betaald (sinds 2 mei 2026)" in reply.text and OFFER not in reply.text
    reply = ask(view("besluit_afgewezen"), "wanneer wordt er betaald?")
    assert "geen betaling" in reply.text
    reply = ask(
        view("besluit_toegekend", next_step="Eerste betaling", next_date=dt.date(2026, 6, 1)),
        "wanneer wordt het overgemaakt?",
    )
    assert "Eerste betaling, op 1 juni 2026" in reply.text


def test_the_decision_and_its_date():
    reply = ask(view("besluit_toegekend", since=dt.datetime(2026, 3, 3, 10, 0)), "wanneer is het besluit genomen?")
    assert "besluit genomen: Besluit genomen: toegekend (sinds 3 maart 2026)" in reply.text
    reply = ask(view("ontvangen"), "wanneer komt het besluit?")
    assert "nog geen besluit" in reply.text and "Wanneer het besluit komt, is bij mij niet bekend" in reply.text
    assert OFFER in reply.text
    reply = ask(view("besluit_afgewezen"), "waarom is het afgewezen?")
    assert "In het besluit staat waarom" in reply.text


def test_the_next_step_with_or_without_a_date():
    reply = ask(view("aanvulling_nodig"), "wat is de volgende stap?")
    assert statuses.get("aanvulling_nodig").next_step in reply.text
    assert "Een datum voor de volgende stap is bij mij niet bekend" in reply.text
    reply = ask(
        view("in_behandeling", next_step="Beoordeling klaar", next_date=dt.date(2026, 2, 1)), "wat gebeurt er nu?"
    )
    assert "Beoordeling klaar, op 1 februari 2026" in reply.text and OFFER not in reply.text


def test_demo_data_says_so():
    assert "fictieve demo-aanvraag" in ask(view("ontvangen", demo=True), "hoeveel krijgen we?").text


def test_without_a_status_there_is_no_answer():
    assert followup.answer(None, "hoeveel hebben we gekregen?") is None
    assert followup.answer({"number": "KW-2026-0042"}, "hoeveel?") is None


QUESTIONS = [
    "hoeveel hebben we gekregen?",
    "wanneer krijgen we het geld?",
    "is er al een besluit?",
    "wat is de volgende stap?",
    "waarom kregen we minder?",
    "hoe lang duurt het nog?",
]


@pytest.mark.parametrize("code", statuses.CODES)
@pytest.mark.parametrize("granted", [None, 12_345_600])
def test_no_reply_claims_an_amount_or_date_the_status_does_not_hold(code, granted):
    app = view(code, granted=granted)
    for text in QUESTIONS:
        reply = ask(app, text)
        body = reply.text.split(OFFER)[0]
        assert "KW-2026-0042" in body
        body = body.replace("KW-2026-0042", "")
        amounts = re.findall(r"€ [\d.,]+", body)
        assert amounts in ([], ["€ 123.456"]), (code, text, body)
        assert not re.search(r"\b20\d\d\b", body), (code, text, body)  # no date: the status has none
        if "niet bekend" in body:
            assert OFFER in reply.text  # every unknown offers the helpdesk
