"""Moves that refer back to the conversation: "ja"/"nee" to an offer, "waarom?", "herhaal"."""
import asyncio

from actions.dialogue import ActionAffirm, ActionDeny, ActionExplain, ActionRepeat


def turn(*bot_messages, action="action_answer_faq"):
    """A previous user message and the assistant's answer to it."""
    events = [{"event": "user", "text": "eerder", "parse_data": {"intent": {"name": "faq_x"}}},
              {"event": "action", "name": action}]
    for text, buttons in bot_messages:
        events.append({"event": "bot", "text": text, "data": {"buttons": buttons}})
    return events + [{"event": "action", "name": "action_listen"}]


HANDOFF = {"title": "Medewerker spreken", "payload": "/human_handoff"}


def run(action, dispatcher, tracker):
    return asyncio.run(action.run(dispatcher, tracker, {}))


def test_yes_to_the_helpdesk_offer_starts_the_handoff(make_tracker, dispatcher):
    events = turn(("Wil je dit navragen?", [HANDOFF, {"title": "Thema's", "payload": "/faq_themas"}]))
    result = run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events))
    assert result == [{"event": "followup", "timestamp": None, "name": "handoff_form"}]


def test_yes_to_one_offered_answer_gives_it(make_tracker, dispatcher):
    events = turn(("Zal ik de status opzoeken?", [{"title": "Status opzoeken", "payload": "/status_aanvraag"}]))
    assert run(ActionAffirm(), dispatcher, make_tracker("affirm", "ja", events=events)) == \
        [{"event": "followup", "timestamp": None, "name": "status_form"}]
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
    tracker = make_tracker("vraag_uitleg", "waarom?", events=turn(("De deadline ...", [])),
                           slots={"laatste_status": "aanvulling_nodig"})
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
    misses = [{"event": "user", "text": t, "parse_data": {"intent": {"name": "affirm"}}}
              for t in ("grmbl fnaaf", "snorkel pijp", "xqzt vlorp")]
    assert consecutive_fallbacks(misses, (), lambda t: looks_like_nonsense(kb, t)) == 3
    assert not looks_like_nonsense(kb, "oké") and not looks_like_nonsense(kb, "Emmen")
