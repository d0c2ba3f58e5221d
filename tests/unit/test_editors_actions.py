"""The FAQ actions record what happened for the editors' page, through their real code path
(rasa-sdk trackers, no Rasa server), masked; and a database that is down never costs an answer."""

import asyncio
import time

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text

from actions.faq import ActionAnswerFaq, ActionRephrase
from bot import migrations
from bot.core import db
from bot.insights import record as rec
from bot.settings import load


@pytest.fixture
def settings(tmp_path):
    s = load({"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    migrations.upgrade(s.database_url)
    return s


def tracker(intent, text_, confidence=0.95, ranking=()):
    latest = {
        "intent": {"name": intent, "confidence": confidence},
        "text": text_,
        "entities": [],
        "intent_ranking": list(ranking),
        "metadata": {},
    }
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message=latest,
        events=[{"event": "user", "text": text_, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def run(action, t):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return events, dispatcher.messages


def stored(settings):
    assert rec.flush(10)  # the rows are written behind the answers
    with db.session_scope(settings.database_url) as s:
        return [
            tuple(r)
            for r in s.execute(
                text("SELECT kind, topic, round(confidence, 2), text FROM kw_question_events ORDER BY id")
            )
        ]


def test_a_confident_answer_is_counted_by_topic_without_its_text(settings):
    _, messages = run(ActionAnswerFaq(settings), tracker("faq_aanvragen_vanaf", "vanaf wanneer kon je aanvragen"))
    assert "7 juli 2025" in messages[0]["text"]
    (row,) = stored(settings)
    assert row[0] == "answered" and row[2] == 0.95 and row[3] is None
    from bot.knowledge.loader import get_knowledge_base

    assert row[1] == get_knowledge_base().by_intent["faq_aanvragen_vanaf"].key


def test_an_unsure_guess_overruled_by_the_search_is_recorded_as_revised(settings):
    run(ActionAnswerFaq(settings), tracker("faq_looptijd", "Is er iets voor kinderen van 0 tot 4 jaar?", 0.78))
    ((kind, topic, confidence, words),) = stored(settings)
    assert (kind, confidence) == ("revised", 0.78)
    assert topic != "looptijd" and words == "Is er iets voor kinderen van 0 tot 4 jaar?"


def test_an_intent_without_an_answer_is_a_fallback(settings):
    run(ActionAnswerFaq(settings), tracker("faq_onbekend", "iets heel anders"))
    assert stored(settings) == [("fallback", "faq_onbekend", 0.95, "iets heel anders")]


def test_the_second_chance_paths_are_recorded_masked(settings):
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "faq_looptijd", "confidence": 0.31}]
    run(ActionRephrase(settings), tracker("nlu_fallback", "Lelystad?", 0.4, ranking))
    run(ActionRephrase(settings), tracker("nlu_fallback", "internetconsultatie?? (jan@example.nl)", 0.4, ranking))
    run(ActionRephrase(settings), tracker("nlu_fallback", "wie betaalt en wie beslist", 0.4, ranking))
    run(ActionRephrase(settings), tracker("nlu_fallback", "blabla bel 06-12345678", 0.4, ranking))
    rows = stored(settings)
    assert [r[0] for r in rows] == ["second_chance", "second_chance", "choices", "fallback"]
    assert rows[0][1] == "gebieden" and rows[1][1] == "internetconsultatie"
    assert all(r[2] == 0.31 for r in rows)  # the best real intent, not the fallback's threshold
    assert rows[1][3] == "internetconsultatie?? ([e-mailadres])"
    assert rows[3][3] == "blabla bel [telefoonnummer]"


def test_a_database_that_is_down_costs_no_answer(tmp_path):
    down = load(
        {"KW_VAR_DIR": str(tmp_path), "KW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "KW_DB_TIMEOUT_S": "1"}
    )
    started = time.monotonic()
    _, answered = run(ActionAnswerFaq(down), tracker("faq_aanvragen_vanaf", "vanaf wanneer kon je aanvragen"))
    _, rephrased = run(ActionRephrase(down), tracker("nlu_fallback", "blabla", 0.4))
    assert "7 juli 2025" in answered[0]["text"] and rephrased[0]["text"]
    assert time.monotonic() - started < 10


def test_a_burst_of_answers_is_written_whole_and_in_order(settings):
    """Fifty answers in a row: none waits for the database, and every row arrives, in order."""
    for i in range(50):
        run(ActionAnswerFaq(settings), tracker("faq_onbekend", f"vraag {i}"))
    rows = stored(settings)
    assert [r[3] for r in rows] == [f"vraag {i}" for i in range(50)]


def test_the_write_behind_queue_is_bounded(settings):
    """While a write is under way (a slow database) at most MAX_QUEUED rows wait; the rest are
    dropped rather than held without end, and the queued ones are written after."""
    writer = rec._WriteBehind()
    writer.MAX_QUEUED = 3
    writer._busy = True  # a drain is running
    for i in range(5):
        writer.add(settings.database_url, 1.5, rec.event_row("fallback", text=f"vraag {i}"))
    writer._drain()
    assert writer.flush(1)
    assert [r[3] for r in stored(settings)] == ["vraag 0", "vraag 1", "vraag 2"]
