"""The second chance through the real stack.

The model is confident on nearly every message, so the fallback is hard to reach with text
through Rasa; the second chance is therefore also driven on the real action server with a
tracker whose message the NLU did not understand (what Rasa sends when it falls back)."""

import json
import urllib.request

import pytest

from rasa_runtime.endpoints import action_token


def reply_text(replies):
    return "\n".join(r.get("text") or "" for r in replies)


def has_sources(replies):
    """A knowledge-base answer carries its sources as data (a custom message over REST)."""
    return any((r.get("custom") or {}).get("kw_sources") for r in replies)


@pytest.mark.parametrize(
    "message, expected",
    [
        ("Lelystad?", "Lelystad Oost"),
        ("Schiedam", "Schiedam Nieuwland en Oost"),
        ("Emmen?", "Emmen heeft geen NPLV-focusgebied"),
    ],
)
def test_a_place_name_alone_gets_the_area_answer(rasa_stack, message, expected):
    replies = rasa_stack.say(message)
    assert expected in reply_text(replies) and has_sources(replies)


def rephrase_on_action_server(rasa_stack, text, events=()):
    """action_rephrase on the real action server, as Rasa calls it after an nlu_fallback."""
    latest = {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "text": text,
        "entities": [],
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3}],
    }
    body = {
        "next_action": "action_rephrase",
        "sender_id": "second-chance",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "second-chance",
            "slots": {},
            "latest_message": latest,
            "events": [*events, {"event": "user", "text": text, "parse_data": latest}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }
    token = action_token(rasa_stack.settings.rasa_token)
    req = urllib.request.Request(
        rasa_stack.settings.actions_url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read().decode("utf-8"))


def test_the_action_server_answers_a_clear_match(rasa_stack):
    result = rephrase_on_action_server(rasa_stack, "inspraak op de conceptregeling, wanneer?")
    assert "16 mei" in result["responses"][0]["text"]
    assert result["events"][0] == {"event": "slot", "timestamp": None, "name": "tweede_kans", "value": "kennisbank"}


def test_the_action_server_offers_choices_then_the_helpdesk(rasa_stack):
    first = rephrase_on_action_server(rasa_stack, "wie betaalt en wie beslist")
    assert first["responses"][0]["text"].startswith("Ik weet niet zeker wat je bedoelt")
    assert first["events"][0]["value"] == "keuze"
    earlier = [
        {"event": "user", "text": "wie betaalt en wie beslist", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        first["events"][0],
    ]
    # Escalating: the second miss in a row suggests topics, the third offers the helpdesk.
    second = rephrase_on_action_server(rasa_stack, "qwrtz plofkip", earlier)
    assert "/human_handoff" not in [b["payload"] for b in second["responses"][0]["buttons"]]
    assert len(second["responses"][0]["buttons"]) == 3 and second["events"][0]["value"] == "geen"
    earlier += [
        {"event": "user", "text": "qwrtz plofkip", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        second["events"][0],
    ]
    third = rephrase_on_action_server(rasa_stack, "zwiep knarp", earlier)
    assert [b["payload"] for b in third["responses"][0]["buttons"]] == ["/human_handoff"]


def test_nonsense_through_rasa_never_gets_a_knowledge_base_answer(rasa_stack):
    for message in ("qwrtz plofkip zonnebloem", "xkcd grmbl"):
        assert not has_sources(rasa_stack.say(message))
