"""The second chance through the real stack: whatever the NLU makes of these messages, the user
gets the answer (place names alone, a clear knowledge-base match) and nonsense still gets the
rephrase request."""
import pytest


def reply_text(replies):
    return "\n".join(r.get("text") or "" for r in replies)


@pytest.mark.parametrize("message, expected", [
    ("Lelystad?", "Lelystad Oost"),
    ("Schiedam", "Schiedam Nieuwland en Oost"),
    ("Emmen?", "Emmen heeft geen NPLV-focusgebied"),
])
def test_a_place_name_alone_gets_the_area_answer(rasa_stack, message, expected):
    text = reply_text(rasa_stack.say(message))
    assert expected in text and "Bron:" in text


def test_nonsense_still_asks_to_rephrase_then_offers_the_helpdesk(rasa_stack):
    sender = "second-chance-nonsense"
    first = reply_text(rasa_stack.say("qwrtz plofkip zonnebloem", sender=sender))
    assert "anders stellen" in first
    second = rasa_stack.say("xkcd grmbl", sender=sender)
    assert "/human_handoff" in [b.get("payload") for r in second for b in r.get("buttons") or []]
