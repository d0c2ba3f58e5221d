"""Handoff store on SQLite and PostgreSQL: migrations, tickets, transitions, the claim race,
messages (idempotent by client_msg_id, ordered by seq), notes, queue, privacy, retention.

The databases are the status store's (tests/status_fixtures.py): the handoff tables are added
to the same database with their own Alembic history, as in production.
"""

import datetime as dt
import threading

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from bot.core import db as status_db
from bot.handoff import states
from bot.handoff.models import Ticket, TicketMessage
from bot.handoff.privacy import InvalidContact
from bot.handoff.service import (
    AlreadyClaimed,
    HandoffService,
    InvalidTransition,
    NotAssigned,
    PermissionDenied,
    TicketClosed,
    TicketConflict,
    TicketNotFound,
)
from bot.handoff.staff import StaffService

KEY = Fernet.generate_key().decode("ascii")  # as KW_CONTACT_KEY holds it
T0 = dt.datetime(2025, 6, 2, 8, 0)  # naive UTC
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def svc(url):
    return HandoffService(url, 5.0, contact_key=KEY)


@pytest.fixture
def staff(url):
    directory = StaffService(url, 5.0, hasher=FAST_HASHER)
    return {
        "sanne": directory.create_user("sanne", "Sanne de Vries", "correct horse battery"),
        "ahmed": directory.create_user("ahmed", "Ahmed Yilmaz", "correct horse battery"),
        "baas": directory.create_user("baas", "Bea Beheer", "correct horse battery", "beheerder"),
    }


def new_ticket(svc, conversation="conv-1", **kw):
    kw.setdefault("question", "Hoe verdeel ik het budget over twee gebieden?")
    return svc.create_ticket(conversation, kw.pop("question"), **kw)


# --------------------------------------------------------------------------- migrations

# --------------------------------------------------------------------------- creation


def test_create_ticket_stores_question_transcript_and_event(svc, staff):
    transcript = [
        ("user", "Hallo, mijn mail is piet@example.nl", T0),
        ("bot", "Waarmee kan ik helpen?", T0 + dt.timedelta(seconds=2)),
        {"sender": "gebruiker", "text": "Ik wil iemand spreken", "at": 1748851205.0},
        ("assistent", "   ", None),  # empty lines are dropped
    ]
    t = svc.create_ticket(
        "conv-1",
        "Mag ik bellen op 06-12345678?",
        "piet@example.nl",
        "Rotterdam",
        transcript,
        now=T0 + dt.timedelta(minutes=1),
    )
    assert t.state == states.WACHTRIJ and t.state_label == "In de wachtrij"
    assert len(t.public_id) >= 20 and t.public_id != str(t.id)
    assert t.question == "Mag ik bellen op [telefoonnummer]?"
    assert t.gemeente == "Rotterdam"
    assert t.contact_kind == "email" and t.contact_masked == "p•••@e•••.nl"
    assert t.consent_at == t.created_at == T0 + dt.timedelta(minutes=1)
    assert t.last_seq == 3 and t.assigned_to is None
    msgs = svc.messages_after(t.public_id, 0)
    assert [(m.seq, m.sender) for m in msgs] == [(1, "gebruiker"), (2, "assistent"), (3, "gebruiker")]
    assert msgs[0].text == "Hallo, mijn mail is [e-mailadres]"
    assert msgs[0].at == T0 and msgs[2].at == dt.datetime(2025, 6, 2, 8, 0, 5)
    [event] = svc.events(t)
    assert (event.from_state, event.to_state, event.actor) == (None, "wachtrij", "gebruiker")
    # The contact is reachable, but only decrypted on request; it is nowhere in plain text.
    assert svc.contact_for(t.public_id, staff["baas"]) == "piet@example.nl"
    engine = status_db.make_engine(svc.engine.url.render_as_string(hide_password=False), 5.0)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(Ticket.__table__)).mappings().one()
            assert all("piet" not in str(v) for v in row.values())
            assert "piet" not in " ".join(conn.execute(select(TicketMessage.text)).scalars())
    finally:
        engine.dispose()
    assert "piet" not in repr(t) and "Rotterdam" not in repr(t)


def test_one_active_ticket_per_conversation(svc, staff):
    first = new_ticket(svc)
    again = new_ticket(svc, question="Nog een vraag")
    assert again.id == first.id and again.question == first.question
    assert svc.active_ticket_for_conversation("conv-1").id == first.id
    assert svc.active_ticket_for_conversation("conv-2") is None
    svc.close(first, "gebruiker")
    assert svc.active_ticket_for_conversation("conv-1") is None
    second = new_ticket(svc, question="Nieuwe vraag")
    assert second.id != first.id
    assert [t.id for t in svc.tickets_for_conversation("conv-1")] == [first.id, second.id]


def test_create_ticket_refuses_bad_input(svc):
    with pytest.raises(ValueError, match="leeg"):
        svc.create_ticket("conv-1", "   ")
    with pytest.raises(ValueError):
        svc.create_ticket("", "vraag")
    with pytest.raises(InvalidContact):
        svc.create_ticket("conv-1", "vraag", contact="geen idee")
    with pytest.raises(ValueError, match="afzender"):
        svc.create_ticket("conv-1", "vraag", transcript=[("martian", "hi")])
    assert svc.active_ticket_for_conversation("conv-1") is None
    long = svc.create_ticket("conv-1", "woord " * 200)
    assert len(long.question) <= 500 and long.question.endswith("\u2026")


def test_ticket_without_key_cannot_take_a_contact(url, staff):
    plain = HandoffService(url, 5.0)
    with pytest.raises(RuntimeError):
        plain.create_ticket("conv-1", "vraag", contact="0612345678")
    t = plain.create_ticket("conv-1", "vraag")
    assert plain.contact_for(t, staff["baas"]) is None and not t.has_contact


def test_contact_only_for_the_assigned_medewerker_or_a_beheerder(svc, staff):
    t = svc.create_ticket("conv-9", "Bel me terug", "piet@example.nl")
    with pytest.raises(PermissionDenied):
        svc.contact_for(t, staff["sanne"])  # not assigned to her (yet)
    svc.claim(t, staff["sanne"])
    assert svc.contact_for(t, staff["sanne"]) == "piet@example.nl"
    assert svc.contact_for(t, staff["baas"]) == "piet@example.nl"
    others = [k for k in staff if k not in ("sanne", "baas")]
    for name in others:
        if not staff[name].is_beheerder:
            with pytest.raises(PermissionDenied):
                svc.contact_for(t, staff[name])


# --------------------------------------------------------------------------- transitions


def test_full_flow_records_every_transition_with_actor_and_time(svc, staff):
    t = new_ticket(svc, now=T0)
    t = svc.claim(t.public_id, staff["sanne"], now=T0 + dt.timedelta(minutes=3))
    assert t.state == "opgepakt" and t.assigned_to == staff["sanne"].id
    assert t.assigned_name == "Sanne de Vries"
    assert t.claimed_at == T0 + dt.timedelta(minutes=3)
    assert t.waiting_s() == 180
    t = svc.go_live(t, staff["sanne"], now=T0 + dt.timedelta(minutes=4))
    assert t.state == "live" and t.live_at == T0 + dt.timedelta(minutes=4)
    t = svc.hand_back(t, staff["sanne"], reason="beantwoord", now=T0 + dt.timedelta(minutes=9))
    assert t.state == "teruggegeven" and t.returned_at == T0 + dt.timedelta(minutes=9)
    assert t.is_final and not t.is_active
    events = svc.events(t)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "wachtrij"),
        ("wachtrij", "opgepakt"),
        ("opgepakt", "live"),
        ("live", "teruggegeven"),
    ]
    assert [e.actor for e in events] == ["gebruiker", "medewerker", "medewerker", "medewerker"]
    assert {e.staff_id for e in events[1:]} == {staff["sanne"].id}
    assert events[1].actor_name == "Sanne de Vries" and events[-1].reason == "beantwoord"
    assert [e.at for e in events] == [T0 + dt.timedelta(minutes=m) for m in (0, 3, 4, 9)]
    with pytest.raises(InvalidTransition):
        svc.close(t, staff["sanne"])
    with pytest.raises(InvalidTransition):
        svc.claim(t, staff["ahmed"])


def test_close_from_queue_without_contact_and_invalid_transitions(svc, staff):
    t = new_ticket(svc)
    with pytest.raises(InvalidTransition):
        svc.go_live(t, staff["sanne"])  # wachtrij → live: not without claiming
    with pytest.raises(InvalidTransition):
        svc.hand_back(t, staff["sanne"])  # wachtrij → teruggegeven
    closed = svc.close(t, staff["ahmed"], reason="geen contactgegevens")
    assert closed.state == "afgerond" and closed.closed_at is not None
    assert closed.assigned_to is None
    for action in (
        lambda: svc.claim(t, staff["sanne"]),
        lambda: svc.go_live(t, staff["sanne"]),
        lambda: svc.hand_back(t, "assistent"),
        lambda: svc.close(t, "gebruiker"),
    ):
        with pytest.raises(InvalidTransition):
            action()
    assert [e.to_state for e in svc.events(t)] == ["wachtrij", "afgerond"]


def test_only_the_assignee_or_a_beheerder_acts_on_an_assigned_ticket(svc, staff):
    t = svc.claim(new_ticket(svc), staff["sanne"])
    with pytest.raises(NotAssigned):
        svc.go_live(t, staff["ahmed"])
    with pytest.raises(NotAssigned):
        svc.close(t, staff["ahmed"])
    t = svc.go_live(t, staff["baas"])  # a beheerder may step in
    assert t.state == "live" and t.assigned_to == staff["sanne"].id
    # The user (or the assistent) can end or hand back; the user cannot take over.
    t2 = svc.claim(new_ticket(svc, "conv-2"), staff["ahmed"])
    with pytest.raises(PermissionDenied):
        svc._transition(t2, states.LIVE, "gebruiker")
    assert svc.hand_back(t2, "gebruiker").state == "teruggegeven"
    assert svc.close(t, "gebruiker").state == "afgerond"


def test_double_click_by_the_same_person_is_harmless(svc, staff):
    t = new_ticket(svc)
    first = svc.claim(t, staff["sanne"])
    second = svc.claim(t, staff["sanne"])
    assert first.state == second.state == "opgepakt"
    assert [e.to_state for e in svc.events(t)] == ["wachtrij", "opgepakt"]
    with pytest.raises(AlreadyClaimed) as info:
        svc.claim(t, staff["ahmed"])
    assert "Sanne de Vries" in str(info.value)
    assert info.value.ticket is not None and info.value.ticket.assigned_to == staff["sanne"].id


def test_unknown_tickets_and_staff(svc, staff):
    with pytest.raises(TicketNotFound):
        svc.get_ticket("bestaat-niet")
    with pytest.raises(TicketNotFound):
        svc.claim(999999, staff["sanne"])
    assert svc.find_ticket("bestaat-niet") is None
    t = new_ticket(svc)
    with pytest.raises(LookupError):
        svc.claim(t, 999999)
    with pytest.raises(ValueError):
        svc.close(t, "iemand")


def test_stale_transition_is_a_conflict_not_a_wrong_state(svc, staff, monkeypatch):
    """A ticket changed between the check and the update (another process) → TicketConflict."""
    t = svc.claim(new_ticket(svc), staff["sanne"])
    real_load = HandoffService._load
    calls = {"n": 0}

    def load_then_interfere(session, ticket_id, fresh=False):
        ticket = real_load(session, ticket_id, fresh)
        calls["n"] += 1
        if calls["n"] == 1:  # after the check, another process closes the ticket
            with status_db.session_scope(svc.engine) as other:
                other.execute(text("UPDATE handoff_tickets SET state='afgerond' WHERE id=:i"), {"i": ticket_id})
        return ticket

    monkeypatch.setattr(HandoffService, "_load", staticmethod(load_then_interfere))
    with pytest.raises(TicketConflict) as info:
        svc.go_live(t, staff["sanne"])
    monkeypatch.undo()
    assert info.value.ticket is not None and info.value.ticket.state == "afgerond"
    assert [e.to_state for e in svc.events(t)] == ["wachtrij", "opgepakt"]


def url_of(svc):
    return svc.engine.url.render_as_string(hide_password=False)


# --------------------------------------------------------------------------- the race


def claim_at_once(url, ticket, people):
    """Each person presses "oppakken" in a thread, session and connection of its own, all at the
    same moment; returns the successful claims and the AlreadyClaimed refusals."""
    barrier = threading.Barrier(len(people))
    results, errors = [], []

    def click(person):
        own = HandoffService(url, 5.0)  # own session per click, shared engine pool
        barrier.wait()
        try:
            results.append((person.id, own.claim(ticket.public_id, person)))
        except AlreadyClaimed as exc:
            errors.append((person.id, exc))

    threads = [threading.Thread(target=click, args=(p,)) for p in people]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    return results, errors


def test_claim_race_exactly_one_wins(url, staff):
    """Several staff members press "oppakken" at the same moment, each in its own thread,
    session and connection: exactly one claim succeeds, the rest get AlreadyClaimed."""
    svc = HandoffService(url, 5.0, contact_key=KEY)
    people = [staff["sanne"], staff["ahmed"], staff["baas"]]
    for round_no in range(6):
        ticket = svc.create_ticket(f"race-{round_no}", "Wie pakt mij op?")
        results, errors = claim_at_once(url, ticket, people)
        assert len(results) == 1, (results, errors)
        assert len(errors) == len(people) - 1
        winner_id, view = results[0]
        assert view.assigned_to == winner_id
        assert all(exc.ticket.assigned_to == winner_id for _, exc in errors)
        final = svc.get_ticket(ticket.public_id)
        assert final.state == "opgepakt" and final.assigned_to == winner_id
        assert [e.to_state for e in svc.events(ticket)] == ["wachtrij", "opgepakt"]


def test_concurrent_messages_get_unique_gapless_seqs(svc, staff):
    t = svc.go_live(svc.claim(new_ticket(svc), staff["sanne"]), staff["sanne"])
    start = t.last_seq
    barrier = threading.Barrier(4)
    failures = []

    def send(n):
        own = HandoffService(url_of(svc), 5.0)
        barrier.wait()
        try:
            for i in range(5):
                sender = "gebruiker" if n % 2 else "medewerker"
                own.add_message(t.public_id, sender, None, f"bericht {n}-{i}", f"c{n}-{i}")
                # every other message is resent once, as after a reconnect
                if i % 2:
                    own.add_message(t.public_id, sender, None, f"bericht {n}-{i}", f"c{n}-{i}")
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not failures
    msgs = svc.messages_after(t, start)
    assert [m.seq for m in msgs] == list(range(start + 1, start + 21))
    assert len({m.client_msg_id for m in msgs}) == 20
    assert svc.get_ticket(t).last_seq == start + 20


# --------------------------------------------------------------------------- messages


def test_messages_are_idempotent_by_client_msg_id_and_ordered(svc, staff):
    t = svc.go_live(svc.claim(new_ticket(svc), staff["sanne"]), staff["sanne"])
    a = svc.add_message(t, "gebruiker", None, "Mijn IBAN is NL91ABNA0417164300", "m-1")
    b = svc.add_message(t, "medewerker", "Sanne de Vries", "Dank u, ik kijk even.", "s-1")
    again = svc.add_message(t, "gebruiker", None, "Mijn IBAN is NL91ABNA0417164300", "m-1")
    assert again == a
    c = svc.add_message(t, "gebruiker", None, "Nog iets")  # no id: always stored
    d = svc.add_message(t, "gebruiker", None, "Nog iets")
    assert [a.seq, b.seq, c.seq, d.seq] == [1, 2, 3, 4]
    assert a.text == "Mijn IBAN is [IBAN]"
    assert b.author == "Sanne de Vries" and b.sender == "medewerker"
    assert [m.seq for m in svc.messages_after(t, 0)] == [1, 2, 3, 4]
    assert [m.text for m in svc.messages_after(t.public_id, 2)] == ["Nog iets", "Nog iets"]
    assert svc.messages_after(t, 4) == []
    assert [m.seq for m in svc.messages_after(t, 0, limit=2)] == [1, 2]
    # The same client id on another ticket is another message.
    other = svc.create_ticket("conv-2", "Andere vraag")
    assert svc.add_message(other, "gebruiker", None, "hoi", "m-1").seq == 1
    assert svc.get_ticket(t).last_seq == 4
    # A duplicate does not consume a seq.
    assert svc.add_message(t, "gebruiker", None, "Mijn IBAN", "m-1").seq == 1
    assert svc.add_message(t, "gebruiker", None, "volgende").seq == 5


def test_staff_text_is_kept_and_user_text_is_masked(svc, staff):
    t = svc.claim(new_ticket(svc), staff["sanne"])
    m = svc.add_message(t, "medewerker", "Sanne", "Bel ons gerust: 020-1234567")
    assert m.text == "Bel ons gerust: 020-1234567"
    u = svc.add_message(t, "gebruiker", None, "ok, mijn nummer is 0612345678")
    assert u.text == "ok, mijn nummer is [telefoonnummer]"
    x = svc.add_message(t, "gebruiker", None, "<script>alert(1)</script>\x00")
    assert x.text == "<script>alert(1)</script>"  # stored as typed; the console escapes


def test_messages_refused_by_state_and_input(svc, staff):
    t = new_ticket(svc)
    svc.add_message(t, "gebruiker", None, "Ben er nog", "u-1")  # waiting: user may write
    with pytest.raises(TicketClosed):
        svc.add_message(t, "medewerker", "Sanne", "hallo")  # nobody picked it up yet
    svc.close(t, "gebruiker")
    with pytest.raises(TicketClosed):
        svc.add_message(t, "gebruiker", None, "nog één ding")
    assert svc.add_message(t, "systeem", None, "Gesprek afgesloten").sender == "systeem"
    # ... but a resend of an earlier message still answers with that message.
    assert svc.add_message(t, "gebruiker", None, "Ben er nog", "u-1").seq == 1
    with pytest.raises(ValueError):
        svc.add_message(t, "gebruiker", None, "   ")
    with pytest.raises(ValueError):
        svc.add_message(t, "robot", None, "hoi")
    with pytest.raises(ValueError):
        svc.add_message(t, "systeem", None, "x" * 4001)
    with pytest.raises(ValueError):
        svc.add_message(t, "systeem", None, "hoi", "x" * 65)
    with pytest.raises(ValueError):
        svc.add_message(t, "systeem", None, "hoi", "met spatie")
    with pytest.raises(TicketNotFound):
        svc.add_message("bestaat-niet", "gebruiker", None, "hoi")
    assert [m.seq for m in svc.messages_after(t)] == [1, 2]


# --------------------------------------------------------------------------- queue, notes


def test_queue_lists_waiting_tickets_oldest_first_with_waiting_time(svc, staff):
    a = new_ticket(svc, "c-a", question="Eerste", now=T0)
    b = new_ticket(
        svc, "c-b", question="Tweede", contact="0612345678", gemeente="Den Haag", now=T0 + dt.timedelta(minutes=5)
    )
    c = new_ticket(svc, "c-c", question="Derde", now=T0 + dt.timedelta(minutes=7))
    svc.claim(c, staff["ahmed"])
    queue = svc.queue(now=T0 + dt.timedelta(minutes=10))
    assert [(q.public_id, q.topic, q.waiting_s) for q in queue] == [
        (a.public_id, "Eerste", 600),
        (b.public_id, "Tweede", 300),
    ]
    assert queue[1].has_contact and queue[1].gemeente == "Den Haag"
    assert queue[1].to_dict()["wachttijd_s"] == 300
    assert [t.id for t in svc.active_tickets()] == [c.id]
    assert [t.id for t in svc.active_tickets(staff["ahmed"])] == [c.id]
    assert svc.active_tickets(staff["sanne"]) == []


def test_notes_and_detail(svc, staff):
    t = svc.claim(new_ticket(svc, transcript=[("user", "hoi")]), staff["sanne"])
    n = svc.add_note(t, staff["sanne"], "Belde eerder over <b>dezelfde</b> aanvraag")
    assert n.author == "Sanne de Vries" and n.staff_id == staff["sanne"].id
    with pytest.raises(ValueError):
        svc.add_note(t, staff["sanne"], "  ")
    detail = svc.ticket_detail(t.public_id)
    assert detail.ticket.id == t.id
    assert [m.text for m in detail.messages] == ["hoi"]
    assert [e.to_state for e in detail.events] == ["wachtrij", "opgepakt"]
    assert [x.text for x in detail.notes] == ["Belde eerder over <b>dezelfde</b> aanvraag"]
    # Notes are internal: not among the messages the widget gets.
    assert all("dezelfde" not in m.text for m in svc.messages_after(t))
    public = detail.ticket.to_dict()
    assert "conversation_id" not in public and public["id"] == t.public_id
    assert public["medewerker"] == "Sanne de Vries" and public["status_tekst"] == "Opgepakt"


def test_canned_replies_are_managed_by_a_beheerder(svc, staff):
    r = svc.save_canned_reply("Openingstijden", "We zijn er op werkdagen van 9 tot 17 uur.", by=staff["baas"])
    svc.save_canned_reply("Openingstijden", "Werkdagen 9:00-17:00.", by=staff["baas"])
    svc.save_canned_reply("Bedankt", "Bedankt voor uw vraag.")  # CLI / system
    assert [(x.title, x.text) for x in svc.canned_replies()] == [
        ("Bedankt", "Bedankt voor uw vraag."),
        ("Openingstijden", "Werkdagen 9:00-17:00."),
    ]
    with pytest.raises(PermissionDenied):
        svc.save_canned_reply("Nieuw", "tekst", by=staff["sanne"])
    with pytest.raises(PermissionDenied):
        svc.delete_canned_reply(r.id, by=staff["sanne"])
    assert svc.delete_canned_reply(r.id, by=staff["baas"])
    assert [x.title for x in svc.canned_replies()] == ["Bedankt"]


# --------------------------------------------------------------------------- retention


def test_purge_finished_and_conversation(svc, staff):
    old = new_ticket(svc, "c-old", transcript=[("user", "oud")], now=T0)
    svc.add_note(old, staff["sanne"], "notitie")
    svc.close(old, staff["sanne"], now=T0 + dt.timedelta(hours=1))
    recent = new_ticket(svc, "c-new", now=T0 + dt.timedelta(days=40))
    svc.close(recent, "gebruiker", now=T0 + dt.timedelta(days=40))
    waiting = new_ticket(svc, "c-wait", now=T0)
    assert svc.purge_finished(T0 + dt.timedelta(days=30)) == 1
    assert svc.find_ticket(old.public_id) is None
    # Messages, events and notes go with the ticket: ON DELETE CASCADE in the schema.
    with svc.engine.connect() as conn:
        for table in ("handoff_messages", "handoff_ticket_events", "handoff_notes"):
            left = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE ticket_id = :t"), {"t": old.id}).scalar()
            assert left == 0, table
    assert svc.find_ticket(recent.public_id) is not None
    assert svc.find_ticket(waiting.public_id) is not None  # never an active ticket
    assert svc.purge_conversation("c-wait") == 1
    assert svc.active_ticket_for_conversation("c-wait") is None
    assert svc.purge_conversation("c-none") == 0
