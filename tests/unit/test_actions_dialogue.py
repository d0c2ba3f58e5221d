"""Moves that refer back to the conversation: "ja"/"nee" to an offer, "waarom?", "herhaal", a
question about the status just shown, "laat maar", the helpdesk's opening hours."""

import asyncio

import pytest

from actions.dialogue import (
    ActionAffirm,
    ActionDeny,
    ActionExplain,
    ActionHelpdeskOpeningstijden,
    ActionRepeat,
    ActionStatusVervolg,
    ActionStop,
)
from bot import migrations
from bot.handoff.service import HandoffService
from bot.settings import load
from tests.fixtures.handoff import active_ticket


def turn(*bot_messages, action="action_answer_faq"):
    """A previous user message and the assistant's answer to it."""
    events = [
        {"event": "user", "text": "eerder", "parse_data": {"intent": {"name": "faq_x"}}},
        {"event": "action", "name": action},
    ]
    for text, buttons in bot_messages:
        events.append({"event": "bot", "text": text, "data": {"buttons": buttons}})
    return [*events, {"event": "action", "name": "action_listen"}]


HANDOFF = {"title": "Medewerker spreken", "payload": "/human_handoff"}


def run(action, dispatcher, tracker):
    return asyncio.run(action.run(dispatcher, tracker, {}))


def test_yes_to_the_helpdesk_offer_starts_the_handoff(make_tracker, dispatcher):
    events = turn(("Wil je dit navragen?", [HANDOFF, {"title": "Thema's", "payload": "/faq_themas"}]))
    result = run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events))
    assert result == [{"event": "followup", "timestamp": None, "name": "handoff_form"}]


def test_yes_to_one_offered_answer_gives_it(make_tracker, dispatcher):
    events = turn(("Zal ik de status opzoeken?", [{"title": "Status opzoeken", "payload": "/status_aanvraag"}]))
    assert run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events)) == [
        {"event": "followup", "timestamp": None, "name": "status_form"}
    ]
    events = turn(("Bedoel je dit?", [{"title": "Welke thema's?", "payload": "/faq_themas"}]))
    result = run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events))
    assert "thema" in dispatcher.messages[-1]["text"].lower() and result[0]["value"] == "faq_themas"


def test_yes_without_an_offer_asks_what_the_user_wants(make_tracker, dispatcher):
    run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=turn(("Hallo!", []))))
    assert "Waarmee kan ik je helpen" in dispatcher.messages[-1]["text"]
    # "Vraag intrekken" is never accepted by a "ja".
    events = turn(("Je vraag staat klaar.", [{"title": "Vraag intrekken", "payload": "/handoff_intrekken"}]))
    assert run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events)) == []


def test_no_declines(make_tracker, dispatcher):
    run(ActionDeny(), dispatcher, make_tracker("deny", "nee", events=turn(("Wil je dit navragen?", [HANDOFF]))))
    assert "geen probleem" in dispatcher.messages[-1]["text"]


def test_why_after_a_status_explains_that_status(make_tracker, dispatcher):
    events = turn(("Status: Aanvulling nodig", []), action="action_status_lookup")
    tracker = make_tracker("vraag_uitleg", "waarom?", events=events, slots={"laatste_status": "aanvulling_nodig"})
    run(ActionExplain(), dispatcher, tracker)
    assert "'Aanvulling nodig' betekent" in dispatcher.messages[-1]["text"]
    assert dispatcher.messages[-1]["buttons"][0]["payload"] == "/human_handoff"
    # After something else, the old status is not explained.
    tracker = make_tracker(
        "vraag_uitleg", "waarom?", events=turn(("De deadline ...", [])), slots={"laatste_status": "aanvulling_nodig"}
    )
    run(ActionExplain(), dispatcher, tracker)
    assert "Wat wil je precies weten" in dispatcher.messages[-1]["text"]


def test_repeat_sends_the_previous_turn_again(make_tracker, dispatcher):
    events = turn(("Het budget is ruim € 400 miljoen.", [{"title": "Thema's", "payload": "/faq_themas"}]))
    run(ActionRepeat(), dispatcher, make_tracker("herhaal", "hoeveel was dat ook alweer?", events=events))
    assert dispatcher.messages[-1]["text"] == "Het budget is ruim € 400 miljoen."
    assert dispatcher.messages[-1]["buttons"] == [{"title": "Thema's", "payload": "/faq_themas"}]
    run(ActionRepeat(), dispatcher, make_tracker("herhaal", "wat zei je?"))
    assert "nog niets gezegd" in dispatcher.messages[-1]["text"]


def test_nonsense_read_as_yes_or_repeat_is_not_understood(make_tracker, dispatcher):
    from bot.conversation import consecutive_fallbacks
    from bot.knowledge.loader import get_knowledge_base
    from bot.knowledge.retrieval import looks_like_nonsense

    events = turn(("Wil je dit navragen?", [HANDOFF]))
    result = run(ActionAffirm(), dispatcher, make_tracker("affirm", "grmbl fnaaf", events=events))
    assert "anders zeggen" in dispatcher.messages[-1]["text"]
    assert result == [{"event": "slot", "timestamp": None, "name": "tweede_kans", "value": "geen"}]
    run(ActionRepeat(), dispatcher, make_tracker("herhaal", "snorkel pijp", events=events))
    assert "anders zeggen" in dispatcher.messages[-1]["text"]
    # Such a turn counts as a miss, so the helpdesk comes after three.
    kb = get_knowledge_base()
    misses = [
        {"event": "user", "text": t, "parse_data": {"intent": {"name": "affirm"}}}
        for t in ("grmbl fnaaf", "snorkel pijp", "xqzt vlorp")
    ]
    assert consecutive_fallbacks(misses, (), lambda t: looks_like_nonsense(kb, t)) == 3
    assert not looks_like_nonsense(kb, "oké") and not looks_like_nonsense(kb, "Emmen")


# -- issue 20: the status just shown, "laat maar" with a waiting question, opening hours -----------

SHOWN = {
    "number": "KW-2026-0042",
    "status": "uitbetaald",
    "label": "Uitbetaald",
    "granted": "€ 900.000",
    "requested": None,
    "since": "2 mei 2026",
    "next_step": None,
    "next_date": None,
    "demo": False,
}


@pytest.fixture
def desk(tmp_path):
    def make(hours="ma-vr 09:00-17:00"):
        settings = load(
            {
                "KW_VAR_DIR": str(tmp_path),
                "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
                "KW_HELPDESK_HOURS": hours,
            }
        )
        migrations.upgrade(settings.database_url)
        return settings

    return make


def test_a_question_about_the_status_shown_is_answered_from_it(make_tracker, dispatcher):
    tracker = make_tracker("status_vervolg", "hoeveel hebben we gekregen?", slots={"status_gegevens": SHOWN})
    run(ActionStatusVervolg(), dispatcher, tracker)
    assert "€ 900.000 toegekend" in dispatcher.messages[-1]["text"]
    run(
        ActionStatusVervolg(),
        dispatcher,
        make_tracker("status_vervolg", "is het al betaald?", slots={"status_gegevens": SHOWN}),
    )
    assert "betaald (sinds 2 mei 2026)" in dispatcher.messages[-1]["text"]


def test_without_a_status_the_lookup_is_offered_and_a_yes_starts_it(make_tracker, dispatcher):
    run(ActionStatusVervolg(), dispatcher, make_tracker("status_vervolg", "hoeveel hebben we gekregen?"))
    message = dispatcher.messages[-1]
    assert "Zal ik die voor je opzoeken" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/status_aanvraag"]
    events = turn((message["text"], message["buttons"]), action="action_status_vervolg")
    assert run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events)) == [
        {"event": "followup", "timestamp": None, "name": "status_form"}
    ]


def test_opening_hours_without_a_question_waiting(desk, make_tracker, dispatcher):
    run(
        ActionHelpdeskOpeningstijden(desk()),
        dispatcher,
        make_tracker("helpdesk_openingstijden", "wanneer is de helpdesk open?"),
    )
    message = dispatcher.messages[-1]
    assert "De helpdesk is open op maandag t/m vrijdag 9:00-17:00." in message["text"]
    assert ("Nu is de helpdesk open" in message["text"]) != ("Nu is de helpdesk gesloten" in message["text"])
    assert [b["payload"] for b in message["buttons"]] == ["/human_handoff"]


def test_opening_hours_with_a_question_waiting(desk, make_tracker, dispatcher):
    settings = desk("ma-zo 00:00-24:00")
    HandoffService.from_settings(settings).create_ticket("unit", "Een open vraag")
    run(ActionHelpdeskOpeningstijden(settings), dispatcher, make_tracker("helpdesk_openingstijden", "tot hoe laat?"))
    message = dispatcher.messages[-1]
    assert "maandag t/m zondag 0:00-24:00" in message["text"] and "Nu is de helpdesk open" in message["text"]
    assert "wachtrij" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/handoff_intrekken"]


def test_laat_maar_without_a_question_waiting_just_stops(desk, make_tracker, dispatcher):
    run(ActionStop(desk()), dispatcher, make_tracker("stop", "laat maar"))
    assert dispatcher.messages[-1]["text"] == "Oké, ik stop ermee. Waarmee kan ik je verder helpen?"


def test_laat_maar_with_a_question_waiting_asks_to_withdraw_it(desk, make_tracker, dispatcher):
    settings = desk()
    ticket = HandoffService.from_settings(settings).create_ticket("unit", "Een open vraag")
    run(ActionStop(settings), dispatcher, make_tracker("stop", "hoeft niet meer"))
    message = dispatcher.messages[-1]
    assert "Wil je die vraag intrekken?" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/handoff_intrekken", "/deny"]
    # Asking changes nothing yet: the ticket still waits.
    assert active_ticket(HandoffService.from_settings(settings), "unit").id == ticket.id
    # "ja" to that question withdraws (a "ja" never does anywhere else).
    events = turn((message["text"], message["buttons"]), action="action_stop")
    assert run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events)) == [
        {"event": "followup", "timestamp": None, "name": "action_handoff_withdraw"}
    ]
