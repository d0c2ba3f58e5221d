"""A long conversation rolls over into a new Rasa session after KW_SESSION_MAX_TURNS user turns
(rasa_runtime/serve.py) so a turn does not get slower as the conversation grows, and the
conversation does not notice: the slots (here the topic of "en in …?") are kept, and the tracker
store still holds every message (history, helpdesk transcript). Real Rasa and action server."""

import json
import urllib.request
import uuid


def text_of(replies):
    return "\n".join(r.get("text") or "" for r in replies)


def test_a_long_conversation_keeps_its_context_across_the_rollover(rasa_stack):
    limit = rasa_stack.settings.session_max_turns
    assert limit > 2
    sender = f"long-{uuid.uuid4().hex}"
    assert "Breda-Noord" in text_of(rasa_stack.say("hoeveel mensen wonen er in Breda-Noord?", sender))
    places = ["Heerlen", "Breda", "Tilburg"]
    for turn in range(1, limit + 1):  # the last one starts the new session
        answer = text_of(rasa_stack.say(f"en in {places[turn % 3]}?", sender))
        assert "1 januari 2025" in answer and "begrijp" not in answer, (turn, answer)
    url = f"{rasa_stack.url_for(sender)}/conversations/{sender}/tracker?token={rasa_stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        events = json.loads(resp.read())["events"]
    assert sum(e["event"] == "session_started" for e in events) == 2
    assert sum(e["event"] == "user" for e in events) == limit + 1  # nothing lost
    # The next turn is read from the new session only, and still knows the topic.
    answer = text_of(rasa_stack.say("en in Heerlen?", sender))
    assert "Heerlen-Noord" in answer and "1 januari 2025" in answer


def test_a_form_in_progress_goes_on_across_the_rollover(rasa_stack):
    limit = rasa_stack.settings.session_max_turns
    sender = f"long-form-{uuid.uuid4().hex}"
    assert "aanvraagnummer" in text_of(rasa_stack.say("hoe staat het met onze aanvraag?", sender))
    for turn in range(limit):  # detours: each answered, and the form asks again
        answer = text_of(rasa_stack.say("welke thema's zijn er?", sender))
        assert "aanvraagnummer" in answer, (turn, answer)
    url = f"{rasa_stack.url_for(sender)}/conversations/{sender}/tracker?token={rasa_stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        events = json.loads(resp.read())["events"]
    assert sum(e["event"] == "session_started" for e in events) == 2
    number = rasa_stack.demo[0].aanvraagnummer
    assert "verificatiecode" in text_of(rasa_stack.say(number, sender))
