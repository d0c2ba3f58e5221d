"""Status actions with rasa-sdk trackers against a real SQLite status store."""
import asyncio
import pytest

from actions.common import portal_gemeente
from actions.status import ActionStatusList, ActionStatusLookup, ActionStatusMissing, ValidateStatusForm
from bot import migrations
from bot.core import db
from bot.settings import load
from bot.status import demo


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


PORTAL = {"portal": {"gemeente": "Utrecht", "user": "u1"}}


def test_portal_gemeente_only_from_metadata(make_tracker):
    assert portal_gemeente(make_tracker("status_aanvraag", "x", metadata=PORTAL)) == "Utrecht"
    assert portal_gemeente(make_tracker("status_aanvraag", "x")) is None
    assert portal_gemeente(make_tracker("status_aanvraag", "x", metadata={"portal": "Utrecht"})) is None


@pytest.mark.asyncio
async def test_required_slots_depend_on_portal(make_tracker, dispatcher):
    form = ValidateStatusForm()
    public = await form.required_slots([], dispatcher, make_tracker("status_aanvraag"), {})
    portal = await form.required_slots([], dispatcher, make_tracker("status_aanvraag", metadata=PORTAL), {})
    assert public == ["aanvraagnummer", "verificatiecode"] and portal == ["aanvraagnummer"]


def test_number_is_found_in_a_sentence(make_tracker, dispatcher):
    tracker = make_tracker("inform_aanvraagnummer", "ons nummer is kw 2025 0042 denk ik")
    result = ValidateStatusForm().validate_aanvraagnummer(tracker.latest_message["text"], dispatcher, tracker, {})
    assert result == {"aanvraagnummer": "KW-2025-0042"}


def test_not_a_number_explains_the_format(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "<b>12345</b>")
    result = ValidateStatusForm().validate_aanvraagnummer("<b>12345</b>", dispatcher, tracker, {})
    assert result == {"aanvraagnummer": None}
    assert "KW-2025-0042" in dispatcher.messages[0]["text"]


def test_another_question_leaves_the_form(make_tracker, dispatcher):
    tracker = make_tracker("faq_looptijd", "voor welke jaren is het geld")
    result = ValidateStatusForm().validate_aanvraagnummer("voor welke jaren is het geld", dispatcher, tracker, {})
    assert result == {"aanvraagnummer": None, "requested_slot": None}
    asyncio.run(ActionStatusLookup().run(dispatcher, tracker, {}))
    assert "2028" in dispatcher.messages[-1]["text"]


def test_public_lookup_ok_then_missing_items(store, settings, make_tracker, dispatcher):
    app = store["aanvulling_nodig"]
    tracker = make_tracker("nlu_fallback", app.code,
                           slots={"aanvraagnummer": app.aanvraagnummer, "verificatiecode": app.code})
    events = asyncio.run(ActionStatusLookup(settings).run(dispatcher, tracker, {}))
    assert app.aanvraagnummer in dispatcher.messages[0]["text"]
    missing = next(e["value"] for e in events if e["name"] == "ontbrekende_stukken")
    assert "begroting" in missing
    assert {"aanvraagnummer": None, "verificatiecode": None} == {
        e["name"]: e["value"] for e in events if e["name"] != "ontbrekende_stukken"}
    asyncio.run(ActionStatusMissing().run(dispatcher, make_tracker("status_aanvulling", slots={"ontbrekende_stukken": missing}), {}))
    assert "begroting" in dispatcher.messages[-1]["text"]


def test_wrong_code_reveals_nothing(store, settings, make_tracker, dispatcher):
    app = store["aanvulling_nodig"]
    tracker = make_tracker("nlu_fallback", "AAAA-AAAA",
                           slots={"aanvraagnummer": app.aanvraagnummer, "verificatiecode": "AAAA-AAAA"})
    events = asyncio.run(ActionStatusLookup(settings).run(dispatcher, tracker, {}))
    assert app.aanvraagnummer not in dispatcher.messages[0]["text"]
    assert next(e["value"] for e in events if e["name"] == "ontbrekende_stukken") is None


def test_portal_list_is_scoped(store, settings, make_tracker, dispatcher):
    asyncio.run(ActionStatusList(settings).run(dispatcher, make_tracker("status_overzicht", metadata=PORTAL), {}))
    text = dispatcher.messages[0]["text"]
    assert store["aanvulling_nodig"].aanvraagnummer in text  # the Utrecht demo application
    assert store["besluit_toegekend"].aanvraagnummer not in text


def test_database_down_gives_a_dutch_message(tmp_path, make_tracker, dispatcher):
    down = load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    tracker = make_tracker("nlu_fallback", "x", slots={"aanvraagnummer": "KW-2025-0042",
                                                       "verificatiecode": "KPWE-W74V"})
    asyncio.run(ActionStatusLookup(down).run(dispatcher, tracker, {}))
    reply = dispatcher.messages[0]
    assert "medewerker" in reply["text"].lower() or "helpdesk" in reply["text"].lower()
    assert any(b["payload"] == "/human_handoff" for b in reply["buttons"])
