"""Status actions with rasa-sdk trackers against a real SQLite status store."""

import asyncio

import pytest

from actions.common import portal_gemeente
from actions.status import ActionStatusList, ActionStatusLookup, ActionStatusMissing, ValidateStatusForm
from bot import migrations
from bot.core import db, identity
from bot.settings import get_settings, load
from bot.status import demo
from bot.status.verification import normalize_code
from tests.fixtures.actions import NO_DOMAIN


@pytest.fixture
def settings(tmp_path):
    """Settings passed to the actions (rasa-sdk itself makes them without any)."""
    return load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})


@pytest.fixture
def store(settings):
    migrations.upgrade(settings.database_url)
    rows = demo.load_demo_data(settings.database_url)
    yield {r.status: r for r in rows}
    db.dispose_engines(settings.database_url)


def portal_metadata(portal=None) -> dict:
    """As the gateway sends it: signed for the conversation of make_tracker ("unit"), with the
    key of this test's settings."""
    return identity.signed_metadata(
        get_settings().identity_key, "unit", "k1", portal or {"gemeente": "Utrecht", "user": "u1"}
    )


def test_portal_gemeente_only_from_metadata(make_tracker):
    assert portal_gemeente(make_tracker("status_aanvraag", "x", metadata=portal_metadata())) == "Utrecht"
    assert portal_gemeente(make_tracker("status_aanvraag", "x")) is None
    assert portal_gemeente(make_tracker("status_aanvraag", "x", metadata={"portal": "Utrecht"})) is None
    # Unsigned, or signed for another scope: the public website.
    assert portal_gemeente(make_tracker("status_aanvraag", "x", metadata={"portal": {"gemeente": "Utrecht"}})) is None
    forged = dict(portal_metadata(), portal={"gemeente": "Rotterdam", "user": "u1"})
    assert portal_gemeente(make_tracker("status_aanvraag", "x", metadata=forged)) is None


@pytest.mark.asyncio
async def test_required_slots_depend_on_portal(make_tracker, dispatcher):
    form = ValidateStatusForm()
    public = await form.required_slots([], dispatcher, make_tracker("status_aanvraag"), NO_DOMAIN)
    in_portal = make_tracker("status_aanvraag", metadata=portal_metadata())
    portal = await form.required_slots([], dispatcher, in_portal, NO_DOMAIN)
    assert public == ["aanvraagnummer", "verificatiecode"] and portal == ["aanvraagnummer"]


def test_number_is_found_in_a_sentence(make_tracker, dispatcher):
    tracker = make_tracker("inform_aanvraagnummer", "ons nummer is kw 2025 0042 denk ik")
    form = ValidateStatusForm()
    result = form.validate_aanvraagnummer(tracker.latest_message["text"], dispatcher, tracker, NO_DOMAIN)
    assert result == {"aanvraagnummer": "KW-2025-0042"}


def test_not_a_number_explains_the_format(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "<b>12345</b>")
    result = ValidateStatusForm().validate_aanvraagnummer("<b>12345</b>", dispatcher, tracker, NO_DOMAIN)
    assert result == {"aanvraagnummer": None}
    assert "KW-2025-0042" in dispatcher.messages[0]["text"]


def test_another_question_is_answered_and_the_form_stays(make_tracker, dispatcher):
    tracker = make_tracker("faq_looptijd", "voor welke jaren is het geld")
    form = ValidateStatusForm()
    result = form.validate_aanvraagnummer("voor welke jaren is het geld", dispatcher, tracker, NO_DOMAIN)
    assert result == {"aanvraagnummer": None}  # the form asks for the number again
    assert "2028" in dispatcher.messages[-1]["text"]


@pytest.mark.parametrize(
    "intent, text, says",
    [
        ("stop", "laat maar", "zoek ik niets op"),
        ("deny", "nee", "zoek ik niets op"),
        ("geen_aanvraagnummer", "ik heb geen aanvraagnummer", "berichten over je aanvraag"),
    ],
)
def test_leaving_the_form_at_any_step(make_tracker, dispatcher, intent, text, says):
    form = ValidateStatusForm()
    tracker = make_tracker(intent, text)
    assert form.validate_aanvraagnummer(text, dispatcher, tracker, NO_DOMAIN) == {
        "aanvraagnummer": None,
        "requested_slot": None,
    }
    assert form.validate_verificatiecode(text, dispatcher, tracker, NO_DOMAIN) == {
        "verificatiecode": None,
        "requested_slot": None,
    }
    assert not dispatcher.messages  # never read as a number or a code
    events = asyncio.run(ActionStatusLookup().run(dispatcher, tracker, NO_DOMAIN))
    assert says in dispatcher.messages[-1]["text"]
    assert {e["name"]: e["value"] for e in events} == {"aanvraagnummer": None, "verificatiecode": None}


def test_asking_for_a_person_in_the_form_starts_the_handoff(make_tracker, dispatcher):
    tracker = make_tracker("human_handoff", "ik wil een medewerker spreken")
    said = ValidateStatusForm().validate_aanvraagnummer("ik wil een medewerker spreken", dispatcher, tracker, NO_DOMAIN)
    assert said == {"aanvraagnummer": None, "requested_slot": None}
    events = asyncio.run(ActionStatusLookup().run(dispatcher, tracker, NO_DOMAIN))
    assert {"event": "followup", "timestamp": None, "name": "handoff_form"} in events


def test_number_and_code_in_either_order(make_tracker, dispatcher):
    form = ValidateStatusForm()
    with_code = {"code_ref": "abcdefghijklmnopqrstuvwxyz"}
    # The code first: kept (as the gateway's reference), and the number is asked for.
    tracker = make_tracker("inform_code", "de code is [verificatiecode]", metadata=with_code)
    assert asyncio.run(form.extract_verificatiecode(dispatcher, tracker, NO_DOMAIN)) == {
        "verificatiecode": "ref:abcdefghijklmnopqrstuvwxyz"
    }
    assert form.validate_aanvraagnummer("de code is [verificatiecode]", dispatcher, tracker, NO_DOMAIN) == {
        "aanvraagnummer": None
    }
    assert "verificatiecode" in dispatcher.messages[-1]["text"]
    # Both in one message, number inside a sentence, lenient: KW-2025-42.
    tracker = make_tracker(
        "inform_aanvraagnummer", "mijn nummer is KW-2025-42 en de code [verificatiecode]", metadata=with_code
    )
    assert form.validate_aanvraagnummer("mijn nummer is KW-2025-42", dispatcher, tracker, NO_DOMAIN) == {
        "aanvraagnummer": "KW-2025-0042"
    }
    assert asyncio.run(form.extract_verificatiecode(dispatcher, tracker, NO_DOMAIN))


def test_a_number_at_the_code_step_replaces_the_number(make_tracker, dispatcher):
    tracker = make_tracker(
        "inform_aanvraagnummer", "sorry, het is KW-2025-0043", slots={"aanvraagnummer": "KW-2025-0042"}
    )
    assert ValidateStatusForm().validate_verificatiecode(
        "sorry, het is KW-2025-0043", dispatcher, tracker, NO_DOMAIN
    ) == {"aanvraagnummer": "KW-2025-0043", "verificatiecode": None}


def test_a_code_is_a_code_whatever_intent_the_nlu_gave_it(make_tracker, dispatcher):
    """Found by the conversation suite: the random demo code "3hpm-tphp" came out of the NLU as
    an exit intent, and the form stopped. A code in the issued form is taken; exit words at the
    code step still leave the form."""
    form = ValidateStatusForm()
    for intent in ("stop", "deny", "geen_aanvraagnummer"):
        for typed in ("3hpm-tphp", "kpwe-wxtv", "K7QM.WX3D"):
            tracker = make_tracker(intent, typed, slots={"aanvraagnummer": "KW-2025-0043"})
            assert form.validate_verificatiecode(typed, dispatcher, tracker, NO_DOMAIN) == {
                "verificatiecode": normalize_code(typed)
            }, (intent, typed)
        for word in ("stoppen", "vergeten", "laat maar"):
            tracker = make_tracker(intent, word, slots={"aanvraagnummer": "KW-2025-0043"})
            assert form.validate_verificatiecode(word, dispatcher, tracker, NO_DOMAIN) == {
                "verificatiecode": None,
                "requested_slot": None,
            }, (intent, word)


def test_public_lookup_ok_then_missing_items(store, settings, make_tracker, dispatcher):
    app = store["aanvulling_nodig"]
    tracker = make_tracker(
        "nlu_fallback", app.code, slots={"aanvraagnummer": app.aanvraagnummer, "verificatiecode": app.code}
    )
    events = asyncio.run(ActionStatusLookup(settings).run(dispatcher, tracker, NO_DOMAIN))
    assert app.aanvraagnummer in dispatcher.messages[0]["text"]
    missing = next(e["value"] for e in events if e["name"] == "ontbrekende_stukken")
    assert "begroting" in missing
    slots = {e["name"]: e["value"] for e in events if e["name"] not in ("ontbrekende_stukken", "status_gegevens")}
    assert slots == {"aanvraagnummer": None, "verificatiecode": None, "laatste_status": "aanvulling_nodig"}
    # What was shown is kept for "hoeveel hebben we gekregen?" (bot/status/followup.py).
    shown = next(e["value"] for e in events if e["name"] == "status_gegevens")
    assert shown["number"] == app.aanvraagnummer and shown["status"] == "aanvulling_nodig"
    asked = make_tracker("status_aanvulling", slots={"ontbrekende_stukken": missing})
    asyncio.run(ActionStatusMissing().run(dispatcher, asked, NO_DOMAIN))
    assert "begroting" in dispatcher.messages[-1]["text"]


def test_wrong_code_reveals_nothing(store, settings, make_tracker, dispatcher):
    app = store["aanvulling_nodig"]
    tracker = make_tracker(
        "nlu_fallback", "AAAA-AAAA", slots={"aanvraagnummer": app.aanvraagnummer, "verificatiecode": "AAAA-AAAA"}
    )
    events = asyncio.run(ActionStatusLookup(settings).run(dispatcher, tracker, NO_DOMAIN))
    assert app.aanvraagnummer not in dispatcher.messages[0]["text"]
    assert not any(e["name"] == "ontbrekende_stukken" for e in events)
    # The number is kept and the gateway reads a code in the next message.
    assert {e["name"]: e["value"] for e in events} == {"verificatiecode": None, "aanvraagnummer": app.aanvraagnummer}
    assert dispatcher.messages[0]["custom"]["kw_expect"] == "verificatiecode"


def test_portal_list_is_scoped(store, settings, make_tracker, dispatcher):
    listing = make_tracker("status_overzicht", metadata=portal_metadata())
    asyncio.run(ActionStatusList(settings).run(dispatcher, listing, NO_DOMAIN))
    text = dispatcher.messages[0]["text"]
    assert store["aanvulling_nodig"].aanvraagnummer in text  # the Utrecht demo application
    assert store["besluit_toegekend"].aanvraagnummer not in text


def test_database_down_gives_a_dutch_message(tmp_path, make_tracker, dispatcher):
    down = load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    tracker = make_tracker(
        "nlu_fallback", "x", slots={"aanvraagnummer": "KW-2025-0042", "verificatiecode": "KPWE-W74V"}
    )
    asyncio.run(ActionStatusLookup(down).run(dispatcher, tracker, NO_DOMAIN))
    reply = dispatcher.messages[0]
    assert "medewerker" in reply["text"].lower() or "helpdesk" in reply["text"].lower()
    assert any(b["payload"] == "/human_handoff" for b in reply["buttons"])
