"""Handoff actions with rasa-sdk trackers against a real SQLite database."""
import asyncio
import pytest

from actions.handoff import ActionHandoffCreate, ValidateHandoffForm
from bot import migrations
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.settings import load


@pytest.fixture
def handoff_settings(tmp_path):
    """Settings passed to the actions (rasa-sdk itself makes them without any)."""
    settings = load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
                     "KW_HELPDESK_HOURS": "ma-zo 00:00-24:00"})
    migrations.upgrade(settings.database_url)
    return settings


def test_consent_yes_no_and_other_topic(make_tracker, dispatcher):
    form = ValidateHandoffForm()
    assert form.validate_handoff_toestemming("ja", dispatcher, make_tracker("affirm", "ja"), {}) == \
        {"handoff_toestemming": True}
    for intent in ("deny", "faq_looptijd"):
        assert form.validate_handoff_toestemming("x", dispatcher, make_tracker(intent, "x"), {}) == \
            {"handoff_toestemming": False, "requested_slot": None}


def test_contact_can_be_skipped(make_tracker, dispatcher):
    form = ValidateHandoffForm()
    assert form.validate_handoff_contact("Nee.", dispatcher, make_tracker("deny", "Nee."), {}) == \
        {"handoff_contact": "-"}


def test_declined_consent_gives_the_helpdesk_line(make_tracker, dispatcher):
    events = asyncio.run(ActionHandoffCreate().run(dispatcher, make_tracker("deny", "nee", slots={"handoff_toestemming": False}), {}))
    assert "deel ik ons gesprek niet" in dispatcher.messages[0]["text"]
    assert not any(e.get("event") == "pause" for e in events)


def test_ticket_is_created_and_conversation_paused(handoff_settings, make_tracker, dispatcher):
    earlier = [{"event": "user", "text": "hoeveel krijgt Breda", "timestamp": 1_700_000_000},
               {"event": "bot", "text": "Dat is niet bekend.", "timestamp": 1_700_000_001}]
    tracker = make_tracker("deny", "nee", events=earlier, metadata={"portal": {"gemeente": "Breda"}},
                           slots={"handoff_toestemming": True, "handoff_vraag": "Bedrag voor Breda?",
                                  "handoff_contact": "-"})
    events = asyncio.run(ActionHandoffCreate(handoff_settings).run(dispatcher, tracker, {}))
    assert any(e.get("event") == "pause" for e in events)
    assert "helpdesk" in dispatcher.messages[0]["text"]
    ticket = HandoffService.from_settings(handoff_settings).active_ticket_for_conversation("unit")
    assert ticket is not None and ticket.gemeente == "Breda"


def test_database_down_keeps_the_assistant(tmp_path, make_tracker, dispatcher):
    down = load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    tracker = make_tracker("deny", "nee", slots={"handoff_toestemming": True,
                                                 "handoff_vraag": "Vraag", "handoff_contact": "-"})
    events = asyncio.run(ActionHandoffCreate(down).run(dispatcher, tracker, {}))
    assert "lukt nu niet" in dispatcher.messages[0]["text"]
    assert not any(e.get("event") == "pause" for e in events)


def test_masked_contact_does_not_block_the_ticket(handoff_settings, make_tracker, dispatcher):
    tracker = make_tracker("inform", "[e-mailadres]", slots={
        "handoff_toestemming": True, "handoff_vraag": "Vraag over Breda", "handoff_contact": "[e-mailadres]"})
    events = asyncio.run(ActionHandoffCreate(handoff_settings).run(dispatcher, tracker, {}))
    assert any(e.get("event") == "pause" for e in events)
    service = HandoffService.from_settings(handoff_settings)
    ticket = service.active_ticket_for_conversation("unit")
    assert ticket.contact_kind is None
    # The gateway adds the real contact afterwards, encrypted; junk is refused.
    assert service.set_contact(ticket, "geen adres") is False
    assert service.set_contact(ticket, "aanvrager@gemeente.nl") is True
    boss = StaffService.from_settings(handoff_settings).create_user(
        "baas", "Bea Beheer", "correct horse battery", "beheerder")
    assert service.contact_for(ticket, boss) == "aanvrager@gemeente.nl"
    assert service.active_ticket_for_conversation("unit").contact_masked != "aanvrager@gemeente.nl"


def test_new_session_stays_paused_while_a_ticket_is_open(handoff_settings, make_tracker, dispatcher):
    from actions.handoff import ActionSessionStart

    fresh = asyncio.run(ActionSessionStart(handoff_settings).run(dispatcher, make_tracker("greet", "hallo"), {}))
    assert [e["event"] for e in fresh] == ["session_started", "action"]
    HandoffService.from_settings(handoff_settings).create_ticket("unit", "Een open vraag")
    paused = asyncio.run(ActionSessionStart(handoff_settings).run(dispatcher, make_tracker("greet", "hallo"), {}))
    assert [e["event"] for e in paused] == ["session_started", "pause", "action"]
