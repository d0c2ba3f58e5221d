"""The FAQ, fallback and handoff actions, run with rasa-sdk trackers (no Rasa server)."""

import asyncio
import logging

import pytest

from actions.faq import ActionAnswerFaq, ActionRephrase
from bot.conversation import consecutive_fallbacks


def run(action, dispatcher, tracker):
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return events, dispatcher.messages


def test_answer_faq_renders_from_knowledge_base(make_tracker, dispatcher):
    tracker = make_tracker("faq_aanvragen_vanaf", "vanaf wanneer kon je aanvragen")
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert len(messages) == 1
    assert "7 juli 2025" in messages[0]["text"]
    # The sources travel as data with the message (Rasa keeps them in the tracker).
    sources = messages[0]["custom"]["kw_sources"]
    assert sources and all(s["url"].startswith("https://") and s["title"] for s in sources)
    assert "Bron:" not in messages[0]["text"]
    assert messages[0]["buttons"]


def test_answer_faq_uses_entities(make_tracker, dispatcher):
    tracker = make_tracker(
        "faq_gebieden",
        "hoort mijn stad erbij",
        entities=[{"entity": "plaats", "value": "Zwolle", "start": 0, "end": 6}],
    )
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert messages[0]["text"].startswith("Nee, Zwolle heeft geen NPLV-focusgebied")


def test_answer_faq_unknown_intent_offers_helpdesk(make_tracker, dispatcher):
    _, messages = run(ActionAnswerFaq(), dispatcher, make_tracker("faq_onbekend", "x"))
    assert "helpdesk" in messages[0]["text"]


def fallback_event(text):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback"}}}


def test_first_fallback_asks_to_rephrase(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "blabla")
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "anders zeggen" in messages[0]["text"] and not messages[0]["buttons"]
    assert "helpdesk" not in messages[0]["text"]


def test_second_fallback_in_a_row_suggests_topics(make_tracker, dispatcher):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "faq_looptijd", "confidence": 0.3},
        {"name": "greet", "confidence": 0.2},
    ]
    tracker = make_tracker("nlu_fallback", "blabla", events=[fallback_event("blabla")], ranking=ranking)
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "anders stellen" in messages[0]["text"]
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles[0] == "Voor welke jaren is het geld?" and len(titles) == 3


def test_third_fallback_in_a_row_offers_helpdesk_with_its_full_text_once(make_tracker, dispatcher):
    from bot.knowledge.loader import get_knowledge_base

    helpdesk_text = get_knowledge_base().helpdesk.text
    misses = [fallback_event("blabla"), fallback_event("nog steeds blabla")]
    tracker = make_tracker("nlu_fallback", "weer blabla", events=misses)
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert helpdesk_text in messages[0]["text"]
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff"
    # Shown before in this conversation: a short line and the button, not the whole text again.
    shown = [*misses, {"event": "bot", "text": messages[0]["text"]}, fallback_event("x")]
    dispatcher.messages.clear()
    _, again = run(ActionRephrase(), dispatcher, make_tracker("nlu_fallback", "y", events=shown))
    assert helpdesk_text not in again[0]["text"] and "medewerker" in again[0]["text"]
    assert again[0]["buttons"][0]["payload"] == "/human_handoff"


def test_fallback_count_resets_after_an_understood_message():
    events = [
        fallback_event("a"),
        {"event": "user", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "bot", "text": "hallo"},
        fallback_event("b"),
    ]
    assert consecutive_fallbacks(events) == 1


def test_second_chance_answers_a_place_name_alone(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "Lelystad?")
    events, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "Lelystad Oost" in messages[0]["text"] and messages[0]["custom"]["kw_sources"]
    assert events == [{"event": "slot", "timestamp": None, "name": "tweede_kans", "value": "plaats"}]


def test_second_chance_answers_a_clear_match_and_logs_it_without_the_message(make_tracker, dispatcher, caplog):
    caplog.set_level(logging.INFO, logger="actions.faq")
    tracker = make_tracker("nlu_fallback", "internetconsultatie?? (jan@example.nl)")
    events, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "16 mei" in messages[0]["text"]
    assert events[0]["value"] == "kennisbank"
    logged = [r.getMessage() for r in caplog.records if "second chance" in r.getMessage()]
    assert logged and '"path": "kennisbank"' in logged[0] and '"answer": "internetconsultatie"' in logged[0]
    assert "jan@example.nl" not in logged[0] and "internetconsultatie??" not in logged[0]


def test_second_chance_offers_close_candidates(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "wie betaalt en wie beslist")
    events, messages = run(ActionRephrase(), dispatcher, tracker)
    assert messages[0]["text"].startswith("Ik weet niet zeker wat je bedoelt. Bedoel je")
    assert 2 <= len(messages[0]["buttons"]) <= 3 and events[0]["value"] == "keuze"


def test_a_fallback_answered_by_the_second_chance_does_not_count(make_tracker, dispatcher):
    answered = [
        fallback_event("Lelystad?"),
        {"event": "slot", "name": "tweede_kans", "value": "plaats"},
        {"event": "bot", "text": "Lelystad doet mee"},
    ]
    tracker = make_tracker("nlu_fallback", "blabla", events=answered)
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "anders zeggen" in messages[0]["text"]  # the first miss, not yet the helpdesk
    assert consecutive_fallbacks([*answered, fallback_event("x")], ("plaats", "kennisbank")) == 1


def faq_tracker(intent, text, confidence):
    from rasa_sdk import Tracker

    latest = {
        "intent": {"name": intent, "confidence": confidence},
        "text": text,
        "entities": [],
        "intent_ranking": [],
        "metadata": {},
    }
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def test_an_unsure_faq_guess_gets_a_second_opinion(dispatcher):
    tracker = faq_tracker("faq_looptijd", "Is er iets voor kinderen van 0 tot 4 jaar?", 0.78)
    events, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert "jonge kind" in messages[0]["text"] and "tot en met 2028" not in messages[0]["text"]
    assert events[0]["name"] == "tweede_kans" and events[0]["value"] == "herzien"


def test_a_confident_faq_answer_is_kept(dispatcher):
    tracker = faq_tracker("faq_looptijd", "Is er iets voor kinderen van 0 tot 4 jaar?", 0.95)
    events, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert "tot en met 2028" in messages[0]["text"]
    assert [(e["name"], e["value"]) for e in events] == [("onderwerp", "faq_looptijd")]


def test_an_unsure_guess_that_the_search_agrees_with_is_kept(dispatcher):
    tracker = faq_tracker("faq_internetconsultatie", "consultatie van de regeling, wanneer", 0.6)
    events, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert "16 mei" in messages[0]["text"]
    assert not any(e["name"] == "tweede_kans" for e in events)


def test_en_voor_another_place_keeps_the_last_topic(make_tracker, dispatcher):
    entities = [{"entity": "gemeente", "value": "Rotterdam", "start": 9, "end": 18}]
    tracker = make_tracker(
        "inform_plaats", "en voor Rotterdam?", entities=entities, slots={"onderwerp": "faq_inwoners"}
    )
    events, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert "Rotterdam" in messages[0]["text"] and "1 januari 2025" in messages[0]["text"]
    assert events[-1]["value"] == "faq_inwoners"


@pytest.mark.parametrize(
    "intent, text, first, second",
    [
        ("faq_deadline", "Wanneer is de deadline? En welke thema's zijn er?", "7 juli 2025", "jonge kind"),
        (
            "faq_looptijd",
            "voor welke jaren is het geld en hoeveel geld is er in totaal?",
            "2026 tot en met 2028",
            "400 miljoen",
        ),
        (
            "faq_themas",
            "welke thema's zijn er en mag het geld naar woningbouw?",
            "jonge kind",
            "Volkshuisvestingsfonds",
        ),
        ("faq_cofinanciering", "is er cofinanciering nodig en welke kosten mogen?", "cofinancieringseis", "btw"),
        # A second question that starts with a preposition, after a preamble.
        (
            "faq_budget_totaal",
            "Ik ben journalist bij Trouw. Hoeveel geld is er en voor welke jaren?",
            "400 miljoen",
            "2026 tot en met 2028",
        ),
        # The NLU took the years; "Hoeveel geld is er" without a place asks for the total.
        (
            "faq_looptijd",
            "Ik ben journalist bij Trouw. Hoeveel geld is er en voor welke jaren?",
            "2026 tot en met 2028",
            "400 miljoen",
        ),
        (
            "faq_aanvragen_vanaf",
            "vanaf wanneer kon je aanvragen en hoeveel geld is er in totaal?",
            "7 juli 2025",
            "400 miljoen",
        ),
    ],
)
def test_both_halves_of_a_double_question_are_answered(make_tracker, dispatcher, intent, text, first, second):
    _, messages = run(ActionAnswerFaq(), dispatcher, make_tracker(intent, text))
    assert len(messages) == 2, messages
    assert first in messages[0]["text"] and second in messages[1]["text"]
    assert messages[1]["custom"]["kw_sources"]  # the second answer carries its own sources


def test_a_second_question_the_search_is_unsure_about_is_offered_as_a_button(make_tracker, dispatcher):
    # The NLU took the second half; the first is a close call for the knowledge-base search.
    tracker = make_tracker("faq_budget_totaal", "in welke jaren is het geld en hoeveel geld is er in totaal?")
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert len(messages) == 2 and "andere vraag" in messages[1]["text"]
    assert [b["payload"] for b in messages[1]["buttons"]] == ["/faq_looptijd"]


def test_a_part_that_points_back_is_no_second_question(make_tracker, dispatcher):
    tracker = make_tracker("faq_themas", "welke thema's zijn er en wat houden ze in?")
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert len(messages) == 1


SHOWN = {
    "number": "KW-2026-0042",
    "status": "besluit_toegekend",
    "label": "Besluit genomen: toegekend",
    "granted": "€ 1.250.000",
    "requested": "€ 1.500.000",
    "since": "3 maart 2026",
    "next_step": None,
    "next_date": None,
    "demo": False,
}


@pytest.mark.parametrize(
    "intent, text, says",
    [
        ("faq_bedrag_gemeente", "hoeveel hebben we gekregen?", "€ 1.250.000"),
        ("faq_bedrag_gemeente", "hoeveel krijgen we?", "€ 1.250.000"),
        ("faq_betaling", "wanneer krijgen we het geld?", "betaling staat nog niet in de status"),
        ("faq_betaling", "wanneer wordt er betaald?", "betaling staat nog niet in de status"),
        ("faq_toekenning", "wanneer is ons besluit genomen?", "3 maart 2026"),
    ],
)
def test_after_a_status_money_and_date_questions_are_about_that_application(
    make_tracker, dispatcher, intent, text, says
):
    tracker = make_tracker(intent, text, slots={"status_gegevens": SHOWN, "laatste_status": SHOWN["status"]})
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert len(messages) == 1 and says in messages[0]["text"], messages[0]["text"]
    assert "KW-2026-0042" in messages[0]["text"]
    assert "Bedragen per gemeente" not in messages[0]["text"]
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff"


@pytest.mark.parametrize(
    "intent, text, says",
    [
        ("faq_budget_totaal", "hoeveel geld is er in totaal?", "400 miljoen"),
        ("faq_bedrag_gemeente", "hoeveel krijgt Breda?", "niet bekend"),
        ("faq_bedrag_gemeente", "hoeveel krijgt elke gemeente?", "Bedragen per gemeente"),
        ("faq_toekenning", "wanneer is het geld voor alle gebieden toegekend?", "11 december 2025"),
    ],
)
def test_after_a_status_questions_about_the_regeling_keep_their_answer(make_tracker, dispatcher, intent, text, says):
    tracker = make_tracker(intent, text, slots={"status_gegevens": SHOWN, "laatste_status": SHOWN["status"]})
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert says in messages[0]["text"] and "KW-2026-0042" not in messages[0]["text"]


def test_without_a_status_our_amount_is_the_regeling_answer(make_tracker, dispatcher):
    _, messages = run(ActionAnswerFaq(), dispatcher, make_tracker("faq_bedrag_gemeente", "hoeveel hebben we gekregen?"))
    assert "Bedragen per gemeente" in messages[0]["text"]


def test_new_answers_for_the_misread_families(make_tracker, dispatcher):
    tracker = make_tracker("faq_budget_per_jaar", "is die 400 miljoen per jaar?")
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert messages[0]["text"].startswith("Nee.") and "niet per jaar" in messages[0]["text"]
    assert "2026 tot en met 2028" in messages[0]["text"] and "niet bekend" in messages[0]["text"]
    dispatcher.messages.clear()
    _, messages = run(
        ActionAnswerFaq(), dispatcher, make_tracker("faq_thema_keuze", "hoeveel gebieden kozen het jonge kind?")
    )
    assert "Twaalf" in messages[0]["text"] and "School en Omgeving" in messages[0]["text"]
    assert "andere thema's" in messages[0]["text"] and "niet bekend" in messages[0]["text"]


def test_a_place_alone_after_a_place_answer_keeps_the_topic(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "en voor Heerlen?", slots={"onderwerp": "faq_inwoners"})
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "Heerlen-Noord" in messages[0]["text"] and "1 januari 2025" in messages[0]["text"]


def test_a_misunderstood_message_with_a_number_or_code_starts_the_status_form(make_tracker, dispatcher):
    for tracker in (
        make_tracker("nlu_fallback", "hoe zit het met KW-2026-0042 eigenlijk"),
        make_tracker("nlu_fallback", "en dan [verificatiecode]", metadata={"code_ref": "x" * 22}),
    ):
        events, messages = run(ActionRephrase(), dispatcher, tracker)
        assert events == [{"event": "followup", "timestamp": None, "name": "status_form"}] and not messages


def test_not_understood_after_a_status_a_money_question_is_about_that_status(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "hoeveel krijgen wij?", slots={"status_gegevens": SHOWN})
    events, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "€ 1.250.000" in messages[0]["text"] and "KW-2026-0042" in messages[0]["text"]
    assert events == [{"event": "slot", "timestamp": None, "name": "tweede_kans", "value": "status"}]
    # Without a status shown, the same words are no status answer.
    dispatcher.messages.clear()
    _, messages = run(ActionRephrase(), dispatcher, make_tracker("nlu_fallback", "hoeveel krijgen wij?"))
    assert "KW-2026-0042" not in messages[0]["text"]


def test_not_understood_as_a_whole_two_clear_questions_get_both_answers(make_tracker, dispatcher):
    tracker = make_tracker("nlu_fallback", "Wat was de deadline? En hoeveel geld is er in totaal?")
    events, messages = run(ActionRephrase(), dispatcher, tracker)
    assert len(messages) == 2
    assert "7 juli 2025" in messages[0]["text"] and "400 miljoen" in messages[1]["text"]
    assert events[0]["value"] == "kennisbank"


def test_a_preamble_sentence_is_not_part_of_the_second_question(make_tracker, dispatcher):
    from actions.faq import question_parts

    assert question_parts("Ik ben journalist bij Trouw. Hoeveel geld is er en voor welke jaren?") == [
        "Hoeveel geld is er",
        "voor welke jaren?",
    ]
    ranking = [
        {"name": "faq_looptijd", "confidence": 0.6},
        {"name": "faq_budget_totaal", "confidence": 0.3},
        {"name": "faq_bedrag_gemeente", "confidence": 0.05},
    ]
    tracker = make_tracker(
        "faq_looptijd", "Ik ben journalist bij Trouw. Hoeveel geld is er en voor welke jaren?", ranking=ranking
    )
    _, messages = run(ActionAnswerFaq(), dispatcher, tracker)
    assert "2026 tot en met 2028" in messages[0]["text"] and "400 miljoen" in messages[1]["text"]


def test_an_intent_just_under_the_threshold_is_answered_when_the_search_agrees(make_tracker, dispatcher):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "faq_budget_per_jaar", "confidence": 0.38},
        {"name": "inform_plaats", "confidence": 0.11},
    ]
    tracker = make_tracker("nlu_fallback", "en is dat per jaar?", ranking=ranking)
    events, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "niet per jaar" in messages[0]["text"] and events[0]["value"] == "kennisbank"
    # The search does not know the nearly chosen answer: no answer from it.
    ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "faq_alliantie", "confidence": 0.4}]
    dispatcher.messages.clear()
    tracker = make_tracker("nlu_fallback", "en is dat per jaar?", ranking=ranking)
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "alliantie" not in messages[0]["text"].lower()
    # Too unsure: no answer either.
    ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "faq_budget_per_jaar", "confidence": 0.2}]
    dispatcher.messages.clear()
    tracker = make_tracker("nlu_fallback", "en is dat per jaar?", ranking=ranking)
    _, messages = run(ActionRephrase(), dispatcher, tracker)
    assert "niet per jaar" not in messages[0]["text"]
