"""Issue 21, L2-L6, against the running gateway process and the Rasa stack behind it.

L2 the last beheerder cannot demote itself in the console; L3 a header-read timeout and caps on
open sockets, per client and in all; L4 internal notes stored masked; L5 var/ 0700 with its
files 0600; L6 "Gesprek wissen" also deletes the conversation's question events. Each test
failed on the code before the fix.
"""

from __future__ import annotations

import socket
import stat
import time

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.core import db
from bot.handoff.models import StaffUser
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.insights import record as insights
from bot.insights.models import QuestionEvent
from tests.fixtures.chat import Chat, run
from tests.fixtures.gateway import gateway_for, poll, poll_async
from tests.fixtures.handoff import staff_member
from tests.security.test_attacks import Console, staff_http, staff_user

# -- L2 --------------------------------------------------------------------------------------------


def test_the_last_beheerder_cannot_demote_itself_in_the_console(edge):
    settings = edge.rasa_stack.settings
    staff = StaffService.from_settings(settings)
    staff_user(edge, "enigebaas", "beheerder")
    engine = db.get_engine(settings.database_url, 10.0)
    with db.session_scope(engine) as session:  # the only active beheerder, for this test
        others = list(
            session.execute(
                select(StaffUser.username).where(
                    StaffUser.role == "beheerder", StaffUser.is_active.is_(True), StaffUser.username != "enigebaas"
                )
            ).scalars()
        )
        session.execute(update(StaffUser).where(StaffUser.username.in_(others)).values(is_active=False))
    try:

        async def demote_self():
            async with staff_http("192.0.2.90") as http:
                csrf = await Console(edge, http).login("enigebaas")
                resp = await http.post(
                    f"{edge.url}/helpdesk/medewerkers/enigebaas/rol",
                    data={"csrf": csrf, "rol": "medewerker"},
                    headers={"Origin": edge.url},
                    allow_redirects=False,
                )
                return resp.status, await resp.text()

        status, page = run(demote_self())
    finally:
        with db.session_scope(engine) as session:
            session.execute(update(StaffUser).where(StaffUser.username.in_(others)).values(is_active=True))
    assert status == 409 and "minstens één actieve beheerder" in page
    assert staff_member(staff, "enigebaas").role == "beheerder"


# -- L3 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tight(rasa_stack, tmp_path_factory):
    """A gateway with small limits, so the test does not wait for the defaults."""
    proc = gateway_for(
        rasa_stack,
        tmp_path_factory.mktemp("tight"),
        KW_TRUSTED_PROXIES="127.0.0.1/32",
        KW_HEADER_TIMEOUT_S="1",
        KW_MAX_SOCKETS_PER_CLIENT="2",
        KW_MAX_SOCKETS="3",
    )
    yield proc
    proc.stop()


def test_a_client_that_sends_its_headers_slowly_is_disconnected(tight):
    with socket.create_connection(("127.0.0.1", tight.port), timeout=15) as sock:
        started = time.monotonic()
        sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{tight.port}\r\n".encode())
        sock.sendall(b"X-Langzaam: 1\r\n")  # ... and then nothing more
        data = sock.recv(1024)  # b"" once the gateway closes the connection
        waited = time.monotonic() - started
    # Before: the gateway waited for the rest of the headers for as long as the client liked.
    assert data == b"" and waited < 10, (data, waited)


def test_open_sockets_are_capped_per_client_and_in_all(tight):
    async def connect(http, ip):
        try:
            ws = await http.ws_connect(f"{tight.url}/chat/ws", headers={"Origin": tight.url, "X-Forwarded-For": ip})
            return ws, 101, None
        except aiohttp.WSServerHandshakeError as exc:
            return None, exc.status, exc

    async def attack():
        async with aiohttp.ClientSession() as http:
            first = [await connect(http, "203.0.113.200") for _ in range(3)]
            other = await connect(http, "203.0.113.201")
            third = await connect(http, "203.0.113.202")
            resp = await http.get(
                f"{tight.url}/chat/ws",
                headers={
                    "Origin": tight.url,
                    "X-Forwarded-For": "203.0.113.202",
                    "Connection": "Upgrade",
                    "Upgrade": "websocket",
                    "Sec-WebSocket-Version": "13",
                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                },
            )
            refusal = await resp.json()
            for ws, _, _ in [*first, other]:
                if ws is not None:
                    await ws.close()
            # Closed sockets free their places.
            again = await poll_connect(http)
            return [s for _, s, _ in first], other[1], third[1], resp.status, refusal, again

    async def poll_connect(http):
        async def opened():
            ws, status, _ = await connect(http, "203.0.113.202")
            if ws is None:
                return None
            await ws.close()
            return status

        return await poll_async(opened, 10, "a freed socket place", interval=0.1)

    statuses, other, third, refused_status, refusal, again = run(attack())
    assert statuses == [101, 101, 429]  # two per client
    assert other == 101 and third == 503 and refused_status == 503  # three in all
    assert refusal["code"] == "too_many_sockets" and "te veel open verbindingen" in refusal["message"]
    assert again == 101


# -- L4 --------------------------------------------------------------------------------------------


def test_internal_notes_are_stored_masked(edge):
    settings = edge.rasa_stack.settings
    staff_user(edge, "noor")
    tickets = HandoffService.from_settings(settings)
    ticket = tickets.create_ticket(f"conv-{time.time_ns()}", "Vraag over mijn aanvraag", None)

    async def note():
        async with staff_http("192.0.2.91") as http:
            csrf = await Console(edge, http).login("noor")
            resp = await http.post(
                f"{edge.url}/helpdesk/vraag/{ticket.public_id}/notitie",
                data={"csrf": csrf, "tekst": "Belde met 06-12345678, BSN 123456782, mail jan@example.nl"},
                headers={"Origin": edge.url, "Accept": "application/json"},
            )
            page = await http.get(f"{edge.url}/helpdesk/vraag/{ticket.public_id}")
            return resp.status, await page.text()

    status, page = run(note())
    assert status in (200, 303)
    stored = [n.text for n in tickets.notes(ticket.public_id)]
    assert stored and all("12345678" not in t and "123456782" not in t and "jan@example.nl" not in t for t in stored)
    assert "[telefoonnummer]" in stored[-1] and "[BSN]" in stored[-1] and "[e-mailadres]" in stored[-1]
    assert "gemaskeerd opgeslagen" in page  # the console says so


# -- L5 --------------------------------------------------------------------------------------------


def test_var_is_private_to_its_user(edge):
    settings = edge.rasa_stack.settings
    var = settings.var_dir
    poll(lambda: (var / "tracker.db-wal").exists() or (var / "tracker.db").exists(), 30, "the tracker database")
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "logs").stat().st_mode) == 0o700
    files = [p for p in var.iterdir() if p.is_file()] + [p for p in (var / "logs").iterdir() if p.is_file()]
    names = {p.name for p in files}
    assert {"app.db", "tracker.db", "secrets.json"} <= names and any(n.endswith("-wal") for n in names)
    loose = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files if p.stat().st_mode & 0o077}
    # Before: app.db, tracker.db, their WAL/SHM files and the logs were 0644.
    assert not loose, loose


# -- L6 --------------------------------------------------------------------------------------------


def test_gesprek_wissen_also_deletes_the_question_events(edge):
    settings = edge.rasa_stack.settings
    engine = db.get_engine(settings.database_url, 10.0)

    def questions(sid):
        key = insights.conversation_key(settings, sid)
        with db.session_scope(engine) as session:
            return list(session.execute(select(QuestionEvent.kind).where(QuestionEvent.conversation == key)).scalars())

    async def recorded(sid):  # the action server writes question events behind the answer
        return await poll_async(lambda: questions(sid), 30, "the question events", interval=0.1)

    async def conversation():
        async with Chat(edge, "198.51.100.96") as other:  # a conversation nobody wipes
            await other.hello()
            await other.say("Wat is een alliantie?")
            other_sid = other.sid
            assert await recorded(other_sid), "the other conversation's question was recorded"
        async with Chat(edge, "198.51.100.95") as chat:
            await chat.hello()
            await chat.say("Welke gebieden doen mee?")
            await chat.say("Hoeveel geld krijgt een gebied?")
            sid = chat.sid
            before = await recorded(sid)
            await chat.socket.send_json({"type": "reset"})
            await chat.until(lambda f: f["type"] == "ready")
            return sid, before, other_sid

    sid, before, other_sid = run(conversation())
    assert before, "the questions were recorded with their conversation"
    poll(lambda: not questions(sid), 30, "the question events of the wiped conversation to go")
    assert questions(other_sid), "another conversation's question events stay"
