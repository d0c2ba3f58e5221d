"""Handoff actions with rasa-sdk trackers against a real SQLite database."""

import asyncio

import pytest

from actions.handoff import ActionHandoffCreate, ValidateHandoffForm
from bot import migrations
from bot.core import identity
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.settings import get_settings, load
from tests.fixtures.actions import NO_DOMAIN
from tests.fixtures.handoff import active_ticket


@pytest.fixture
def handoff_settings(tmp_path):
    """Settings passed to the actions (rasa-sdk itself makes them without any)."""
    settings = load(
        {
            "KW_VAR_DIR": str(tmp_path),
            "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "KW_HELPDESK_HOURS": "ma-zo 00:00-24:00",
        }
    )
    migrations.upgrade(settings.database_url)
    return settings


def consent(dispatcher, make_tracker, intent, text):
    dispatcher.messages.clear()
    return ValidateHandoffForm().validate_handoff_toestemming(text, dispatcher, make_tracker(intent, text), NO_DOMAIN)


def test_consent_has_three_outcomes(make_tracker, dispatcher):
    assert consent(dispatcher, make_tracker, "affirm", "ja") == {"handoff_toestemming": True}
    # Asking for a person again is a wish for the handoff.
    assert consent(dispatcher, make_tracker, "human_handoff", "ik wil een medewerker spreken") == {
        "handoff_toestemming": True
    }
    # "nee": a ticket all the same, without the conversation.
    assert consent(dispatcher, make_tracker, "deny", "nee") == {"handoff_toestemming": False}
    assert "deel ik ons gesprek niet" in dispatcher.messages[0]["text"]
    # A plain "oké" is a yes, whatever the NLU made of it; doubt is not a no.
    assert consent(dispatcher, make_tracker, "nlu_fallback", "Oké.") == {"handoff_toestemming": True}
    assert consent(dispatcher, make_tracker, "deny", "weet ik niet") == {"handoff_toestemming": None}
    assert "'ja' of 'nee'" in dispatcher.messages[0]["text"]
    # Stop leaves the form: no ticket.
    assert consent(dispatcher, make_tracker, "stop", "laat maar") == {
        "handoff_toestemming": None,
        "requested_slot": None,
    }


@pytest.mark.parametrize(
    "intent, text, says",
    [
        ("vraag_uitleg", "wat deel je dan precies?", "ziet de medewerker van de helpdesk ons gesprek"),
        ("affirm", "ja maar eerst een vraag", "Stel je vraag maar"),
        ("nlu_fallback", "weet ik niet", "'ja' of 'nee'"),
        ("faq_looptijd", "voor welke jaren is het geld eigenlijk?", "2026 tot en met 2028"),
    ],
)
def test_anything_else_at_consent_is_answered_and_asked_again(make_tracker, dispatcher, intent, text, says):
    assert consent(dispatcher, make_tracker, intent, text) == {"handoff_toestemming": None}
    assert says in dispatcher.messages[0]["text"]


def test_contact_can_be_skipped(make_tracker, dispatcher):
    form = ValidateHandoffForm()
    assert form.validate_handoff_contact("Nee.", dispatcher, make_tracker("deny", "Nee."), NO_DOMAIN) == {
        "handoff_contact": "-"
    }


@pytest.mark.parametrize("text", ["[e-mailadres]", "bel me op [telefoonnummer]", "jan@gemeente.nl", "06 12345678"])
def test_contact_takes_an_email_address_or_phone_number(make_tracker, dispatcher, text):
    form = ValidateHandoffForm()
    assert form.validate_handoff_contact(text, dispatcher, make_tracker("nlu_fallback", text), NO_DOMAIN) == {
        "handoff_contact": text
    }


@pytest.mark.parametrize(
    "intent, text, says",
    [
        ("nlu_fallback", "jan@gemeente", "geen e-mailadres of telefoonnummer"),
        ("nlu_fallback", "0612", "geen e-mailadres of telefoonnummer"),
        ("vraag_uitleg", "waarom wil je dat weten?", "alleen voor deze vraag"),
    ],
)
def test_contact_refuses_anything_else(make_tracker, dispatcher, intent, text, says):
    form = ValidateHandoffForm()
    assert form.validate_handoff_contact(text, dispatcher, make_tracker(intent, text), NO_DOMAIN) == {
        "handoff_contact": None
    }
    assert says in dispatcher.messages[0]["text"]


def test_stop_at_the_question_or_contact_step_leaves_the_form(make_tracker, dispatcher):
    form = ValidateHandoffForm()
    tracker = make_tracker("stop", "laat maar, toch niet")
    assert form.validate_handoff_vraag("laat maar, toch niet", dispatcher, tracker, NO_DOMAIN) == {
        "handoff_vraag": None,
        "requested_slot": None,
    }
    assert form.validate_handoff_contact("laat maar, toch niet", dispatcher, tracker, NO_DOMAIN) == {
        "handoff_contact": None,
        "requested_slot": None,
    }


@pytest.mark.parametrize(
    "slots", [{"handoff_toestemming": None}, {"handoff_toestemming": True, "handoff_vraag": "Een vraag"}]
)
def test_leaving_the_form_makes_no_ticket(handoff_settings, make_tracker, dispatcher, slots):
    # Also when consent and question were given: "laat maar" at the contact step.
    tracker = make_tracker("stop", "laat maar", slots=slots)
    events = asyncio.run(ActionHandoffCreate(handoff_settings).run(dispatcher, tracker, NO_DOMAIN))
    assert "niet door" in dispatcher.messages[0]["text"]
    assert HandoffService.from_settings(handoff_settings).active_ticket_for_conversation("unit") is None
    assert not any(e.get("event") == "pause" for e in events)


def test_declined_consent_still_makes_a_ticket_without_the_conversation(handoff_settings, make_tracker, dispatcher):
    earlier = [
        {"event": "user", "text": "hoeveel krijgt Breda", "timestamp": 1_700_000_000},
        {"event": "bot", "text": "Dat is niet bekend.", "timestamp": 1_700_000_001},
    ]
    tracker = make_tracker(
        "deny",
        "nee",
        events=earlier,
        slots={"handoff_toestemming": False, "handoff_vraag": "Bedrag voor Breda?", "handoff_contact": "-"},
    )
    asyncio.run(ActionHandoffCreate(handoff_settings).run(dispatcher, tracker, NO_DOMAIN))
    service = HandoffService.from_settings(handoff_settings)
    ticket = service.active_ticket_for_conversation("unit")
    assert ticket is not None and ticket.question == "Bedrag voor Breda?"
    texts = [m.text for m in service.ticket_detail(ticket.id).messages]
    assert not any("hoeveel krijgt Breda" in t for t in texts)


def test_ticket_is_created_and_the_assistant_keeps_answering(handoff_settings, make_tracker, dispatcher):
    earlier = [
        {"event": "user", "text": "hoeveel krijgt Breda", "timestamp": 1_700_000_000},
        {"event": "bot", "text": "Dat is niet bekend.", "timestamp": 1_700_000_001},
    ]
    metadata = identity.signed_metadata(get_settings().identity_key, "unit", "k1", {"gemeente": "Breda"})
    tracker = make_tracker(
        "deny",
        "nee",
        events=earlier,
        metadata=metadata,
        slots={"handoff_toestemming": True, "handoff_vraag": "Bedrag voor Breda?", "handoff_contact": "-"},
    )
    events = asyncio.run(ActionHandoffCreate(handoff_settings).run(dispatcher, tracker, NO_DOMAIN))
    # Rasa pauses only when a medewerker takes over (bot/handoff/live.py).
    assert not any(e.get("event") == "pause" for e in events)
    assert "helpdesk" in dispatcher.messages[0]["text"]
    assert dispatcher.messages[0]["buttons"] == [{"title": "Vraag intrekken", "payload": "/handoff_intrekken"}]
    ticket = HandoffService.from_settings(handoff_settings).active_ticket_for_conversation("unit")
    assert ticket is not None and ticket.gemeente == "Breda"


def test_waiting_question_status_and_withdrawal(handoff_settings, make_tracker, dispatcher):
    from actions.handoff import ActionHandoffStatus, ActionHandoffWithdraw

    waiting = make_tracker("handoff_wachten", "is er al iemand?")
    asyncio.run(ActionHandoffStatus(handoff_settings).run(dispatcher, waiting, NO_DOMAIN))
    assert "geen vraag open" in dispatcher.messages[-1]["text"]
    service = HandoffService.from_settings(handoff_settings)
    ticket = service.create_ticket("unit", "Een open vraag")
    waiting = make_tracker("handoff_wachten", "is er al iemand?")
    asyncio.run(ActionHandoffStatus(handoff_settings).run(dispatcher, waiting, NO_DOMAIN))
    assert "wachtrij" in dispatcher.messages[-1]["text"]
    assert dispatcher.messages[-1]["custom"] == {"kw_handoff": True}
    withdraw = make_tracker("handoff_intrekken", "vraag intrekken")
    asyncio.run(ActionHandoffWithdraw(handoff_settings).run(dispatcher, withdraw, NO_DOMAIN))
    assert "ingetrokken" in dispatcher.messages[-1]["text"]
    assert service.active_ticket_for_conversation("unit") is None
    closed = service.ticket_detail(ticket.id)
    assert closed.ticket.state == "afgerond"
    assert any("ingetrokken" in m.text for m in closed.messages)


def test_database_down_keeps_the_assistant(tmp_path, make_tracker, dispatcher):
    down = load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    tracker = make_tracker(
        "deny", "nee", slots={"handoff_toestemming": True, "handoff_vraag": "Vraag", "handoff_contact": "-"}
    )
    events = asyncio.run(ActionHandoffCreate(down).run(dispatcher, tracker, NO_DOMAIN))
    assert "lukt nu niet" in dispatcher.messages[0]["text"]
    assert not any(e.get("event") == "pause" for e in events)


def test_masked_contact_does_not_block_the_ticket(handoff_settings, make_tracker, dispatcher):
    tracker = make_tracker(
        "inform",
        "[e-mailadres]",
        slots={"handoff_toestemming": True, "handoff_vraag": "Vraag over Breda", "handoff_contact": "[e-mailadres]"},
    )
    asyncio.run(ActionHandoffCreate(handoff_settings).run(dispatcher, tracker, NO_DOMAIN))
    service = HandoffService.from_settings(handoff_settings)
    ticket = active_ticket(service, "unit")
    assert ticket.contact_kind is None
    # The gateway adds the real contact afterwards, encrypted; junk is refused.
    assert service.set_contact(ticket, "geen adres") is False
    assert service.set_contact(ticket, "aanvrager@gemeente.nl") is True
    boss = StaffService.from_settings(handoff_settings).create_user(
        "baas", "Bea Beheer", "correct horse battery", "beheerder"
    )
    assert service.contact_for(ticket, boss) == "aanvrager@gemeente.nl"
    assert active_ticket(service, "unit").contact_masked != "aanvrager@gemeente.nl"


def test_new_session_stays_paused_while_a_medewerker_has_the_ticket(handoff_settings, make_tracker, dispatcher):
    from actions.handoff import ActionSessionStart

    def start_session():
        return asyncio.run(
            ActionSessionStart(handoff_settings).run(dispatcher, make_tracker("greet", "hallo"), NO_DOMAIN)
        )

    fresh = start_session()
    assert [e["event"] for e in fresh] == ["session_started", "action"]
    service = HandoffService.from_settings(handoff_settings)
    ticket = service.create_ticket("unit", "Een open vraag")
    waiting = start_session()
    assert [e["event"] for e in waiting] == ["session_started", "action"]  # the assistant answers
    staff = StaffService.from_settings(handoff_settings).create_user("mw", "Mia", "correct horse battery")
    service.go_live(service.claim(ticket, staff), staff)
    paused = start_session()
    assert [e["event"] for e in paused] == ["session_started", "pause", "action"]


def test_a_session_that_grew_long_keeps_its_slots_and_form_an_expired_one_does_not():
    import time as clock

    from rasa_sdk import Tracker

    from actions.handoff import carried_over

    now = clock.time()
    events = [{"event": "user", "text": "hoeveel krijgt Rotterdam?", "timestamp": now - 30}]
    slots = {"onderwerp": "bedrag", "plaats": "Rotterdam", "session_started_metadata": {"x": 1}, "aanvraagnummer": None}
    tracker = Tracker("s", slots, {}, events, False, None, {}, None)
    assert carried_over(tracker, 60, now) == [
        {"event": "slot", "timestamp": None, "name": "onderwerp", "value": "bedrag"},
        {"event": "slot", "timestamp": None, "name": "plaats", "value": "Rotterdam"},
    ]
    assert carried_over(tracker, 60, now + 3600) == []  # an hour of silence: a fresh start
    assert carried_over(tracker, 0, now) == []  # sessions off
    assert carried_over(Tracker("s", slots, {}, [], False, None, {}, None), 60, now) == []  # new
    in_form = Tracker(
        "s", {"requested_slot": "handoff_toestemming"}, {}, events, False, None, {"name": "handoff_form"}, None
    )
    assert carried_over(in_form, 60, now) == [
        {"event": "slot", "timestamp": None, "name": "requested_slot", "value": "handoff_toestemming"},
        {"event": "active_loop", "timestamp": None, "name": "handoff_form"},
    ]
