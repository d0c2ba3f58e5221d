"""The status dialogue through the real Rasa server and action server over the REST channel,
on SQLite (default path) and on PostgreSQL with the Redis lock store (production path)."""

import uuid

import pytest

from tests.conftest import start_stack
from tests.fixtures.databases import create_pg_database, drop_pg_database

PORTAL = {"portal": {"gemeente": "Amsterdam", "user": "demo-medewerker"}}


def text_of(replies):
    return "\n".join(r.get("text") or "" for r in replies)


def buttons_of(replies):
    return [b["title"] for r in replies for b in r.get("buttons") or []]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, rasa_stack, tmp_path_factory):
    if request.param == "sqlite":
        yield rasa_stack
        return
    app_db = create_pg_database()
    tracker_db = create_pg_database()
    running = start_stack(
        tmp_path_factory.mktemp("var-pg"),
        {
            "KW_DATABASE_URL": app_db,
            "KW_TRACKER_STORE_URL": tracker_db,
            "KW_LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
        },
    )
    yield running
    running.stack.stop()
    drop_pg_database(app_db)
    drop_pg_database(tracker_db)


def demo(stack, gemeente=None, status=None):
    return next(
        d for d in stack.demo if (gemeente is None or d.gemeente == gemeente) and (status is None or d.status == status)
    )


def test_public_lookup_asks_number_then_code(stack):
    app = demo(stack, status="aanvulling_nodig")
    sender = f"pub-{uuid.uuid4().hex}"
    assert "aanvraagnummer" in text_of(stack.say("hoe staat het met onze aanvraag?", sender))
    spaced = app.aanvraagnummer.lower().replace("-", " ")
    assert "verificatiecode" in text_of(stack.say(f"het is {spaced}", sender))
    replies = stack.say(app.code.lower(), sender)
    answer = text_of(replies)
    assert app.aanvraagnummer in answer and "aanvulling" in answer.lower()
    assert "Wat moet ik aanleveren?" in buttons_of(replies)
    # The status is not kept: a new question starts again from the number.
    assert "aanvraagnummer" in text_of(stack.say("en wat is de status nu?", sender))


def test_number_in_the_first_sentence(stack):
    app = demo(stack, status="besluit_toegekend")
    sender = f"pub-{uuid.uuid4().hex}"
    assert "verificatiecode" in text_of(stack.say(f"status van aanvraag {app.aanvraagnummer}?", sender))
    assert "toegekend" in text_of(stack.say(app.code, sender)).lower()


def test_unknown_number_and_wrong_code_get_the_same_answer(stack):
    app = demo(stack, status="besluit_toegekend")
    answers = []
    for number, code in ((app.aanvraagnummer, "AAAA-AAAA"), ("KW-2025-9999", app.code)):
        sender = f"enum-{uuid.uuid4().hex}"
        stack.say("status van mijn aanvraag", sender)
        stack.say(number, sender)
        answers.append(text_of(stack.say(code, sender)))
    assert answers[0] == answers[1]
    assert app.aanvraagnummer not in answers[0] and app.gemeente not in answers[0]


def test_five_wrong_codes_lock_the_conversation(stack):
    app = demo(stack)
    sender = f"lock-{uuid.uuid4().hex}"
    for _ in range(5):
        stack.say("status aanvraag", sender)
        stack.say(app.aanvraagnummer, sender)
        stack.say("QQQQ-QQQQ", sender)
    stack.say("status aanvraag", sender)
    stack.say(app.aanvraagnummer, sender)
    locked = text_of(stack.say(app.code, sender))  # even the right code is refused now
    assert "te vaak" in locked.lower() or "later" in locked.lower()
    assert app.aanvraagnummer not in locked


def test_injection_in_the_number_is_not_a_number(stack):
    sender = f"inj-{uuid.uuid4().hex}"
    stack.say("status van mijn aanvraag", sender)
    reply = text_of(stack.say("KW' OR '1'='1; DROP TABLE status_applications; --", sender))
    assert "KW-2025-0042" in reply  # the example of what a number looks like
    assert "DROP" not in reply


def test_leaving_the_form_answers_the_new_question(stack):
    sender = f"leave-{uuid.uuid4().hex}"
    stack.say("ik wil de status van mijn aanvraag weten", sender)
    assert "7 juli 2025" in text_of(stack.say("Vanaf wanneer kon je de uitkering aanvragen?", sender))
    assert "Rotterdam-Zuid" in text_of(stack.say("welke gebieden doen mee", sender))


def test_portal_user_needs_no_code_but_sees_only_own_gemeente(stack):
    own = demo(stack, gemeente="Amsterdam")
    other = demo(stack, gemeente="Rotterdam")
    sender = f"portal-{uuid.uuid4().hex}"
    stack.say("status van onze aanvraag", sender, metadata=PORTAL)
    assert own.aanvraagnummer in text_of(stack.say(own.aanvraagnummer, sender, metadata=PORTAL))
    stack.say("status van onze aanvraag", sender, metadata=PORTAL)
    refused = text_of(stack.say(other.aanvraagnummer, sender, metadata=PORTAL))
    stack.say("status van onze aanvraag", sender, metadata=PORTAL)
    unknown = text_of(stack.say("KW-2025-9999", sender, metadata=PORTAL))
    assert refused == unknown  # another gemeente's application looks exactly like a missing one
    assert "Rotterdam" not in refused


def test_portal_list_and_public_list(stack):
    sender = f"list-{uuid.uuid4().hex}"
    listing = text_of(stack.say("welke aanvragen hebben wij lopen?", sender, metadata=PORTAL))
    amsterdam = [d.aanvraagnummer for d in stack.demo if d.gemeente == "Amsterdam"]
    others = [d.aanvraagnummer for d in stack.demo if d.gemeente != "Amsterdam"]
    assert all(n in listing for n in amsterdam) and not any(n in listing for n in others)
    public = text_of(stack.say("welke aanvragen hebben wij lopen?", f"pub-{uuid.uuid4().hex}"))
    assert "portaal waarin je bent ingelogd" in public and not any(n in public for n in amsterdam)
