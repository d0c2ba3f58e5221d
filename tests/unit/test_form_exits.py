"""Forms without dead ends (issue 20 item 4) and what is stored: the helpdesk question, the
contact typed in a sentence (read back decrypted), withdrawal in other words, goodbye and wrong
codes in the status form, and a verificatiecode slot that never holds the message."""

import asyncio

import pytest

from actions.dialogue import ActionAffirm, ActionDeny, ActionStop
from actions.handoff import ActionHandoffCreate, ActionHandoffWithdraw, ValidateHandoffForm
from actions.status import ActionStatusLookup, ValidateStatusForm, leave_form
from bot import migrations, texts
from bot.core import db
from bot.core.extract import first_contact
from bot.handoff.live import LiveHandoff
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.settings import load
from bot.status import demo, render
from tests.fixtures.actions import NO_DOMAIN
from tests.fixtures.handoff import active_ticket


@pytest.fixture
def app_settings(tmp_path):
    settings = load(
        {
            "KW_VAR_DIR": str(tmp_path),
            "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "KW_HELPDESK_HOURS": "ma-zo 00:00-24:00",
        }
    )
    migrations.upgrade(settings.database_url)
    yield settings
    db.dispose_engines(settings.database_url)


def user(text, intent, **extra):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, **extra}


def bot(text):
    return {"event": "bot", "text": text}


def asked(slot):
    return {"event": "slot", "name": "requested_slot", "value": slot}


# -- the handoff form's question step ---------------------------------------------------------------


@pytest.mark.parametrize(
    "intent, text",
    [
        ("greet", "hallo"),
        ("nlu_fallback", "hallo"),
        ("nlu_fallback", "terug"),
        ("greet", "Goedemorgen!"),
        ("thank", "bedankt"),
        ("nlu_fallback", "ok"),
    ],
)
def test_greetings_and_going_back_are_never_the_question(make_tracker, dispatcher, intent, text):
    result = ValidateHandoffForm().validate_handoff_vraag(text, dispatcher, make_tracker(intent, text), NO_DOMAIN)
    assert result == {"handoff_vraag": None}
    assert dispatcher.messages[-1]["text"] == texts.HANDOFF_QUESTION_NEEDED


def test_vorige_vraag_takes_the_previous_real_question(make_tracker, dispatcher):
    earlier = [
        user("hallo", "greet"),
        bot("Hallo!"),
        user("Wanneer wordt het geld voor Breda overgemaakt?", "faq_betaling"),
        bot("Dat weet ik niet."),
        user("ik wil een medewerker", "human_handoff"),
        asked("handoff_toestemming"),
        user("ja", "affirm"),
        asked("handoff_vraag"),
    ]
    for said in ("vorige vraag", "de vorige vraag", "dezelfde vraag", "wat ik net vroeg"):
        dispatcher.messages.clear()
        tracker = make_tracker("nlu_fallback", said, events=earlier)
        assert ValidateHandoffForm().validate_handoff_vraag(said, dispatcher, tracker, NO_DOMAIN) == {
            "handoff_vraag": "Wanneer wordt het geld voor Breda overgemaakt?"
        }
        assert "Breda overgemaakt" in dispatcher.messages[-1]["text"]


def test_vorige_vraag_without_one_asks_which(make_tracker, dispatcher):
    earlier = [user("ik wil een medewerker", "human_handoff"), user("ja", "affirm"), asked("handoff_vraag")]
    tracker = make_tracker("nlu_fallback", "vorige vraag", events=earlier)
    assert ValidateHandoffForm().validate_handoff_vraag("vorige vraag", dispatcher, tracker, NO_DOMAIN) == {
        "handoff_vraag": None
    }
    assert dispatcher.messages[-1]["text"] == texts.HANDOFF_WHICH_QUESTION


def test_the_second_nee_at_the_question_step_leaves_the_form(app_settings, make_tracker, dispatcher):
    form = ValidateHandoffForm()
    # The consent was "nee" too (no transcript): that one does not count.
    start = [
        user("ik wil een medewerker", "human_handoff"),
        asked("handoff_toestemming"),
        user("nee", "deny"),
        {"event": "slot", "name": "handoff_toestemming", "value": False},
        asked("handoff_vraag"),
    ]
    first = make_tracker("deny", "nee", events=start)
    assert form.validate_handoff_vraag("nee", dispatcher, first, NO_DOMAIN) == {"handoff_vraag": None}
    again = [*start, user("nee", "deny"), bot(texts.HANDOFF_QUESTION_NEEDED), asked("handoff_vraag")]
    second = make_tracker("deny", "nee", events=again, slots={"handoff_toestemming": False})
    assert form.validate_handoff_vraag("nee", dispatcher, second, NO_DOMAIN) == {
        "handoff_vraag": None,
        "requested_slot": None,
    }
    # The form ended: a polite goodbye to the handoff, and no ticket.
    dispatcher.messages.clear()
    asyncio.run(ActionHandoffCreate(app_settings).run(dispatcher, second, NO_DOMAIN))
    assert dispatcher.messages[-1]["text"] == texts.HANDOFF_STOPPED
    assert HandoffService.from_settings(app_settings).active_ticket_for_conversation("unit") is None


@pytest.mark.parametrize("intent", ["deny", "stop", "nlu_fallback"])
def test_a_contact_in_the_sentence_wins_over_its_intent(make_tracker, dispatcher, intent):
    # As the gateway passes it on: masked.
    text = "stuur maar een mail naar [e-mailadres], liever geen telefoon"
    assert ValidateHandoffForm().validate_handoff_contact(text, dispatcher, make_tracker(intent, text), NO_DOMAIN) == {
        "handoff_contact": text
    }


# -- the contact, stored on the ticket by the gateway's live handoff --------------------------------


def live_handoff(settings) -> LiveHandoff:
    """The gateway's own live handoff (storing a contact tells only the consoles, through the bus)."""
    from bot.web.app import create_app
    from bot.web.keys import LIVE

    return create_app(settings)[LIVE]


@pytest.mark.parametrize(
    "typed, stored, said",
    [
        ("je kunt me bellen op 06-12345678", "0612345678", "telefoonnummer …678"),
        ("stuur maar een mail naar piet@gemeente.nl, liever geen telefoon", "piet@gemeente.nl", "e-mailadres p…@…"),
        ("tel: 010 123 4567", "0101234567", "telefoonnummer …567"),
    ],
)
def test_a_contact_in_a_sentence_is_stored_encrypted_and_said_back_masked(app_settings, typed, stored, said):
    service = HandoffService.from_settings(app_settings)
    ticket = service.create_ticket("conv-1", "Wanneer horen we iets?")
    contact = first_contact(typed)
    assert contact is not None
    reply = asyncio.run(live_handoff(app_settings).add_contact("conv-1", contact))
    assert reply is not None and said in reply and stored not in reply
    boss = StaffService.from_settings(app_settings).create_user("baas", "Bea", "correct horse battery", "beheerder")
    assert service.contact_for(ticket, boss) == stored
    row = active_ticket(service, "conv-1")
    assert row.contact_masked and stored not in row.contact_masked


def test_no_ticket_no_contact_stored(app_settings):
    contact = first_contact("bel 0612345678")
    assert contact is not None
    assert asyncio.run(live_handoff(app_settings).add_contact("nobody", contact)) is None


# -- withdrawing in other words ---------------------------------------------------------------------


def waiting(settings):
    service = HandoffService.from_settings(settings)
    return service, service.create_ticket("unit", "Een open vraag")


@pytest.mark.parametrize(
    "intent, text",
    [
        ("handoff_intrekken", "trek mijn vraag maar in"),
        ("stop", "laat maar, trek mijn vraag in"),
        ("handoff_intrekken", "laat maar, vraag intrekken"),
        ("handoff_intrekken", "/handoff_intrekken"),
    ],
)
def test_explicit_withdrawal_withdraws(app_settings, make_tracker, dispatcher, intent, text):
    service, ticket = waiting(app_settings)
    asyncio.run(ActionHandoffWithdraw(app_settings).run(dispatcher, make_tracker(intent, text), NO_DOMAIN))
    assert service.ticket_detail(ticket.id).ticket.state == "afgerond"
    assert "ingetrokken" in dispatcher.messages[-1]["text"]


@pytest.mark.parametrize("action", [ActionStop, ActionDeny])
@pytest.mark.parametrize("text", ["trek mijn vraag maar in", "laat maar, vraag intrekken", "annuleer mijn vraag"])
def test_explicit_withdrawal_read_as_stop_or_deny_withdraws(app_settings, make_tracker, dispatcher, action, text):
    service, ticket = waiting(app_settings)
    intent = "stop" if action is ActionStop else "deny"
    assert asyncio.run(action(app_settings).run(dispatcher, make_tracker(intent, text), {})) == []
    assert service.ticket_detail(ticket.id).ticket.state == "afgerond"
    assert "ingetrokken" in dispatcher.messages[-1]["text"]


def test_withdrawal_in_vague_words_asks_first_and_yes_withdraws(app_settings, make_tracker, dispatcher):
    service, ticket = waiting(app_settings)
    tracker = make_tracker("handoff_intrekken", "hoeft niet meer, ik weet het al")
    assert asyncio.run(ActionHandoffWithdraw(app_settings).run(dispatcher, tracker, NO_DOMAIN)) == []
    asked = dispatcher.messages[-1]
    assert asked["text"] == texts.STOP_WITHDRAW_CONFIRM
    assert [b["payload"] for b in asked["buttons"]] == ["/handoff_intrekken", "/deny"]
    assert service.ticket_detail(ticket.id).ticket.state == "wachtrij"
    # "ja" to that question withdraws.
    before = [
        user("hoeft niet meer, ik weet het al", "handoff_intrekken"),
        {"event": "action", "name": "action_handoff_withdraw"},
        {"event": "bot", "text": asked["text"], "data": {"buttons": asked["buttons"]}},
        {"event": "action", "name": "action_listen"},
    ]
    yes = make_tracker("affirm", "ja", events=before)
    assert asyncio.run(ActionAffirm(app_settings).run(dispatcher, yes, NO_DOMAIN)) == [
        {"event": "followup", "timestamp": None, "name": "action_handoff_withdraw"}
    ]
    asyncio.run(ActionHandoffWithdraw(app_settings).run(dispatcher, yes, NO_DOMAIN))
    assert service.ticket_detail(ticket.id).ticket.state == "afgerond"
    assert "ingetrokken" in dispatcher.messages[-1]["text"]


# -- the status form ---------------------------------------------------------------------------------

GATEWAY = {"msg_id": "m1", "client_id": "k1"}


@pytest.mark.parametrize(
    "intent, text",
    [
        ("goodbye", "doei"),
        ("goodbye", "dat was het"),
        ("thank", "bedankt, tot ziens"),
        ("inform_code", "tot ziens"),
        ("nlu_fallback", "dat was het"),
    ],
)
def test_goodbye_leaves_the_status_form(make_tracker, dispatcher, intent, text):
    form = ValidateStatusForm()
    tracker = make_tracker(intent, text, metadata=GATEWAY, slots={"aanvraagnummer": "KW-2025-0042"})
    assert form.validate_verificatiecode(text, dispatcher, tracker, NO_DOMAIN) == {
        "verificatiecode": None,
        "requested_slot": None,
    }
    assert form.validate_aanvraagnummer(text, dispatcher, tracker, NO_DOMAIN) == {
        "aanvraagnummer": None,
        "requested_slot": None,
    }
    assert not any(m.get("text") == texts.STATUS_BAD_CODE for m in dispatcher.messages)
    leave_form(dispatcher, tracker)
    assert dispatcher.messages[-1]["response"] == "utter_goodbye"


@pytest.mark.asyncio
async def test_the_code_slot_never_holds_the_message(make_tracker, dispatcher):
    form = ValidateStatusForm()
    at_code = dict(requested_slot="verificatiecode", aanvraagnummer="KW-2025-0042")
    tracker = make_tracker("nlu_fallback", "weet ik niet precies", metadata=GATEWAY, slots=at_code)
    tracker.active_loop = {"name": "status_form"}
    marker = await form.extract_verificatiecode(dispatcher, tracker, NO_DOMAIN)
    assert marker == {"verificatiecode": "?"}
    assert form.validate_verificatiecode("?", dispatcher, tracker, NO_DOMAIN) == {"verificatiecode": None}
    # Through the gateway a short word is never taken as the code itself (the gateway took every
    # code out as a reference already).
    for text in ("tot-ziens", "abcdefgh", "K7QMWX3D"):
        tracker = make_tracker("inform_code", text, metadata=GATEWAY, slots=at_code)
        assert form.validate_verificatiecode(text, dispatcher, tracker, NO_DOMAIN)["verificatiecode"] is None
    with_ref = make_tracker(
        "inform_code", "[verificatiecode]", metadata=dict(GATEWAY, code_ref="r" * 30), slots=at_code
    )
    assert await form.extract_verificatiecode(dispatcher, with_ref, NO_DOMAIN) == {"verificatiecode": "ref:" + "r" * 30}


def test_the_third_wrong_code_says_where_the_code_is(make_tracker, dispatcher):
    form = ValidateStatusForm()
    events = [{"event": "active_loop", "name": "status_form"}, asked("verificatiecode")]
    for attempt in range(3):
        tracker = make_tracker(
            "nlu_fallback",
            "weet niet",
            metadata=GATEWAY,
            events=list(events),
            slots={"aanvraagnummer": "KW-2025-0042", "requested_slot": "verificatiecode"},
        )
        dispatcher.messages.clear()
        result = form.validate_verificatiecode("?", dispatcher, tracker, NO_DOMAIN)
        if attempt < 2:
            assert result == {"verificatiecode": None}
            assert dispatcher.messages[-1]["text"] == texts.STATUS_BAD_CODE
            events += [user("weet niet", "nlu_fallback"), bot(texts.STATUS_BAD_CODE)]
    assert result == {"verificatiecode": None, "requested_slot": None}
    assert dispatcher.messages[-1]["text"] == texts.STATUS_CODE_HELP
    assert dispatcher.messages[-1]["buttons"][0]["payload"] == "/human_handoff"
    # action_status_lookup adds nothing after it.
    after = make_tracker("nlu_fallback", "weet niet", events=[*events, bot(texts.STATUS_CODE_HELP)])
    dispatcher.messages.clear()
    assert leave_form(dispatcher, after) == [] and dispatcher.messages == []


def test_the_third_failed_lookup_says_where_the_code_is(app_settings, make_tracker, dispatcher):
    demo.load_demo_data(app_settings.database_url)
    not_found = render.render_not_found().text
    slots = {"aanvraagnummer": "KW-2025-0042", "verificatiecode": "AAAA-AAAA"}
    first = make_tracker("inform_code", "[verificatiecode]", slots=slots, events=[bot(not_found)])
    asyncio.run(ActionStatusLookup(app_settings).run(dispatcher, first, NO_DOMAIN))
    assert dispatcher.messages[-1]["text"] == not_found
    third = make_tracker("inform_code", "[verificatiecode]", slots=slots, events=[bot(not_found), bot(not_found)])
    events = asyncio.run(ActionStatusLookup(app_settings).run(dispatcher, third, NO_DOMAIN))
    assert dispatcher.messages[-1]["text"] == texts.STATUS_CODE_HELP
    # Another try stays possible: the number is kept and the next message read for a code.
    assert dispatcher.messages[-1]["custom"]["kw_expect"] == "verificatiecode"
    assert {"event": "slot", "timestamp": None, "name": "aanvraagnummer", "value": "KW-2025-0042"} in events


@pytest.mark.parametrize(
    "intent, text",
    [
        ("nlu_fallback", "hoeft niet meer, ik weet het al"),
        ("deny", "nee hoor, laat maar"),
        ("nlu_fallback", "mijn vraag is al beantwoord"),
    ],
)
def test_vague_withdrawal_not_understood_or_denied_asks_first(app_settings, make_tracker, dispatcher, intent, text):
    from actions.faq import ActionRephrase

    action = ActionRephrase if intent == "nlu_fallback" else ActionDeny
    # Without a waiting question it is an ordinary message.
    asyncio.run(action(app_settings).act(dispatcher, make_tracker(intent, text)))
    assert dispatcher.messages[-1].get("text") != texts.STOP_WITHDRAW_CONFIRM
    service, ticket = waiting(app_settings)
    assert asyncio.run(action(app_settings).act(dispatcher, make_tracker(intent, text))) == []
    assert dispatcher.messages[-1]["text"] == texts.STOP_WITHDRAW_CONFIRM
    assert service.ticket_detail(ticket.id).ticket.state == "wachtrij"


@pytest.mark.parametrize(
    "text, withdrawn",
    [("ik hoef geen medewerker meer", True), ("kan ik mijn vraag intrekken?", False), ("laat maar", False)],
)
def test_the_withdrawal_intent_asks_only_for_vague_words(app_settings, make_tracker, dispatcher, text, withdrawn):
    service, ticket = waiting(app_settings)
    asyncio.run(ActionHandoffWithdraw(app_settings).run(dispatcher, make_tracker("handoff_intrekken", text), NO_DOMAIN))
    assert (service.ticket_detail(ticket.id).ticket.state == "afgerond") is withdrawn
    assert (dispatcher.messages[-1]["text"] == texts.STOP_WITHDRAW_CONFIRM) is not withdrawn
