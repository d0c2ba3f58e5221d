"""The helpdesk console and the live handoff in the gateway, against the fake Rasa of
tests/integration/conftest.py.

Security: pages, APIs and the console socket refuse anonymous users; POSTs without (or with a
wrong) CSRF token or from another origin change nothing; stored XSS in user messages, notes,
canned replies and names renders inert; a medewerker cannot do beheerder actions or act on a
colleague's ticket. Routing: staff actions append the right events to the Rasa tracker and
push frames to the widget; user messages of a conversation with an active ticket are stored
on the ticket and reach the console socket. The real stack is in tests/browser/test_handoff*.py.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import WSMsgType, WSServerHandshakeError

from bot import settings as settings_mod
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.web.console import prepare_database
from tests.fixtures.chat import sid_of
from tests.fixtures.console import frames_until
from tests.fixtures.gateway import poll_async
from tests.fixtures.text import match

pytestmark = pytest.mark.asyncio

PASSWORD = "een-lang-wachtwoord-2026"
XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def answer_event(text: str, title: str, url: str) -> dict[str, Any]:
    """A knowledge-base answer as Rasa's tracker keeps it: its sources in the message's data."""
    return {
        "event": "bot",
        "text": text,
        "timestamp": 1.0,
        "data": {"custom": {"kw_sources": [{"title": title, "url": url}], "kw_checked": "2025-11-27"}},
    }


class Console:
    def __init__(self, client, settings, fake):
        self.client = client
        self.settings = settings
        self.rasa = fake
        self.tickets = HandoffService.from_settings(settings)
        self.staff = StaffService.from_settings(settings)
        self.origin = str(client.make_url("/").origin())

    async def login(self, username: str, password: str = PASSWORD, expect_ok: bool = True) -> str:
        """Log in; returns the session's CSRF token."""
        page = await self.client.get("/helpdesk/inloggen")
        token = match(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
        resp = await self.client.post(
            "/helpdesk/inloggen",
            allow_redirects=False,
            data={"csrf": token, "gebruikersnaam": username, "wachtwoord": password},
        )
        if not expect_ok:
            return await resp.text()
        assert resp.status == 303, await resp.text()
        queue = await self.client.get("/helpdesk/wachtrij")
        assert queue.status == 200
        return match(r'data-csrf="([^"]+)"', await queue.text()).group(1)

    async def post(self, path: str, data: dict[str, Any], *, json_reply: bool = False, **headers: str):
        hdrs = {"Origin": self.origin}
        if json_reply:
            hdrs["Accept"] = "application/json"
        hdrs.update(headers)
        return await self.client.post(path, data=data, headers=hdrs, allow_redirects=False)

    def ticket(self, conversation: str = "gesprek-1", question: str = "Hoe vraag ik aan?", transcript=(), **kw):
        return self.tickets.create_ticket(conversation, question, transcript=transcript, **kw)

    def logout_cookies(self) -> None:
        self.client.session.cookie_jar.clear()


@pytest_asyncio.fixture
async def console(start_gateway, fake_rasa):
    client = await start_gateway(KW_HELPDESK_HOURS="ma-zo 00:00-24:00")
    settings = client.settings
    prepare_database(settings)
    c = Console(client, settings, fake_rasa)
    c.staff.create_user("bea", "Bea Beheer", PASSWORD, "beheerder")
    c.staff.create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    c.staff.create_user("sam", "Sam Collega", PASSWORD, "medewerker")
    return c


# -- start-up -----------------------------------------------------------------------------------


async def test_preparing_the_database_again_keeps_its_accounts_and_tickets(console):
    # `python -m bot run` prepares the database, then the gateway does it again at its start.
    t = console.ticket()
    prepare_database(console.settings)
    assert console.tickets.get_ticket(t.id).state == "wachtrij"
    assert await console.login("mo")


# -- anonymous users --------------------------------------------------------------------------


async def test_anonymous_users_get_nothing(console):
    t = console.ticket()
    c = console.client
    for path in (
        "/helpdesk/wachtrij",
        f"/helpdesk/vraag/{t.public_id}",
        "/helpdesk/standaardantwoorden",
        "/helpdesk/medewerkers",
    ):
        resp = await c.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/helpdesk/inloggen"), path
        assert t.question not in await resp.text()
    for path in ("/helpdesk/api/wachtrij", f"/helpdesk/api/vraag/{t.public_id}"):
        resp = await c.get(path)
        assert resp.status == 401 and (await resp.json())["ok"] is False
    for action in ("oppakken", "bericht", "terug", "afronden", "notitie", "contact"):
        resp = await console.post(f"/helpdesk/vraag/{t.public_id}/{action}", {"tekst": "x"}, json_reply=True)
        assert resp.status == 401, action
    resp = await console.post("/helpdesk/standaardantwoorden", {"titel": "a", "tekst": "b"})
    assert resp.status == 303 and resp.headers["Location"].startswith("/helpdesk/inloggen")
    ws = await c.get(
        "/helpdesk/ws",
        headers={
            "Origin": console.origin,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert ws.status == 401
    assert console.tickets.get_ticket(t.id).state == "wachtrij"
    assert console.tickets.notes(t.id) == [] and console.tickets.canned_replies() == []
    # The login page itself is public, Dutch and under the strict CSP.
    page = await c.get("/helpdesk")
    html = await page.text()
    assert page.status == 200 and "Inloggen" in html and '<html lang="nl">' in html
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in html and "style=" not in html


async def test_a_forged_or_tampered_session_cookie_is_anonymous(console):
    await console.login("mo")
    cookie = next(c for c in console.client.session.cookie_jar if c.key == "kw_helpdesk")
    value = cookie.value
    console.logout_cookies()
    for forged in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), "gAAAAAB" + "x" * 80, "abc"):
        console.client.session.cookie_jar.update_cookies({"kw_helpdesk": forged})
        resp = await console.client.get("/helpdesk/api/wachtrij")
        assert resp.status == 401


# -- login --------------------------------------------------------------------------------


async def test_login_cookie_is_httponly_strict_and_logout_ends_it(console):
    page = await console.client.get("/helpdesk/inloggen")
    token = match(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    resp = await console.client.post(
        "/helpdesk/inloggen",
        allow_redirects=False,
        data={"csrf": token, "gebruikersnaam": "mo", "wachtwoord": PASSWORD, "volgende": "https://evil.example/"},
    )
    assert resp.status == 303 and resp.headers["Location"] == "/helpdesk/wachtrij"  # no open redirect
    cookie = next(v for v in resp.headers.getall("Set-Cookie") if v.startswith("kw_helpdesk="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/helpdesk" in cookie
    queue = await console.client.get("/helpdesk/wachtrij")
    html = await queue.text()
    assert "Mo Medewerker" in html and "medewerker" in html
    csrf = match(r'data-csrf="([^"]+)"', html).group(1)
    # Logout needs the token too.
    resp = await console.post("/helpdesk/uitloggen", {})
    assert resp.status == 403
    resp = await console.post("/helpdesk/uitloggen", {"csrf": csrf})
    assert resp.status == 303 and "uitgelogd" in resp.headers["Location"]
    assert (await console.client.get("/helpdesk/api/wachtrij")).status == 401


async def test_login_failures_lockout_and_csrf(console):
    # No (or a wrong) login-form token: refused, even with the right password.
    resp = await console.client.post("/helpdesk/inloggen", data={"gebruikersnaam": "mo", "wachtwoord": PASSWORD})
    assert resp.status == 403 and "verlopen" in await resp.text()
    await console.client.get("/helpdesk/inloggen")
    resp = await console.client.post(
        "/helpdesk/inloggen", data={"csrf": "verkeerd", "gebruikersnaam": "mo", "wachtwoord": PASSWORD}
    )
    assert resp.status == 403
    # Wrong password and unknown user: the same Dutch message.
    wrong = await console.login("mo", "fout-wachtwoord-123", expect_ok=False)
    unknown = await console.login("niemand", "fout-wachtwoord-123", expect_ok=False)
    assert "Inloggen is niet gelukt" in wrong and "geblokkeerd" in wrong
    assert match(r'role="alert"[^>]*>([^<]+)<', wrong).group(1) == match(r'role="alert"[^>]*>([^<]+)<', unknown).group(
        1
    )
    for _ in range(4):
        await console.login("mo", "fout-wachtwoord-123", expect_ok=False)
    # Locked: even the right password does not get in now.
    locked = await console.login("mo", PASSWORD, expect_ok=False)
    assert "Inloggen is niet gelukt" in locked
    assert console.staff.get_by_username("mo").locked_until is not None
    # A beheerder unlocks the account in the console.
    csrf = await console.login("bea")
    staff_page = await console.client.get("/helpdesk/medewerkers")
    assert "Geblokkeerd tot" in await staff_page.text()
    resp = await console.post("/helpdesk/medewerkers/mo/ontgrendelen", {"csrf": csrf})
    assert resp.status == 303 and "ontgrendeld" in resp.headers["Location"]
    console.logout_cookies()
    await console.login("mo")


# -- CSRF and origin ---------------------------------------------------------------------------


async def test_posts_without_csrf_token_or_from_another_origin_change_nothing(console):
    t = console.ticket()
    csrf = await console.login("bea")
    base = f"/helpdesk/vraag/{t.public_id}"
    attempts = [
        (f"{base}/oppakken", {}),
        (f"{base}/oppakken", {"csrf": "niet-het-token"}),
        (f"{base}/notitie", {"tekst": "notitie zonder token"}),
        (f"{base}/afronden", {}),
        ("/helpdesk/standaardantwoorden", {"titel": "Zonder token", "tekst": "x"}),
        ("/helpdesk/medewerkers", {"gebruikersnaam": "eve", "naam": "Eve", "wachtwoord": PASSWORD, "rol": "beheerder"}),
    ]
    for path, data in attempts:
        resp = await console.post(path, data)
        assert resp.status == 403, path
        assert "Geen toegang" in await resp.text()
    # The right token from another site: refused on the Origin.
    resp = await console.post(f"{base}/oppakken", {"csrf": csrf}, Origin="https://evil.example")
    assert resp.status == 403
    # The token in the header works as well as the form field (console.js uses the header).
    assert console.tickets.get_ticket(t.id).state == "wachtrij"
    assert console.tickets.notes(t.id) == [] and console.tickets.canned_replies() == []
    assert console.staff.get_by_username("eve") is None
    resp = await console.post(f"{base}/notitie", {"tekst": "met token"}, json_reply=True, **{"X-CSRF-Token": csrf})
    assert resp.status == 200 and (await resp.json())["ok"] is True
    resp = await console.post(f"{base}/oppakken", {"csrf": csrf})
    assert resp.status == 303
    assert console.tickets.get_ticket(t.id).state == "live"


async def test_console_websocket_needs_origin_session_and_token(console):
    t = console.ticket()
    csrf = await console.login("mo")
    c = console.client
    with pytest.raises(WSServerHandshakeError):
        await c.ws_connect("/helpdesk/ws", headers={"Origin": "https://evil.example"})
    ws = await c.ws_connect("/helpdesk/ws", headers={"Origin": console.origin})
    await ws.send_json({"type": "hello", "csrf": "fout", "ticket": t.public_id})
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED) and ws.close_code == 1008
    ws = await c.ws_connect("/helpdesk/ws", headers={"Origin": console.origin})
    await ws.send_json({"type": "hello", "csrf": csrf, "ticket": t.public_id, "after": 0})
    assert (await ws.receive_json(timeout=5))["type"] == "ready"
    queue = await ws.receive_json(timeout=5)
    assert queue["type"] == "queue" and [q["id"] for q in queue["wachtrij"]] == [t.public_id]
    ticket = await ws.receive_json(timeout=5)
    assert ticket["type"] == "ticket" and ticket["ticket"]["status"] == "wachtrij"
    await ws.close()


# -- stored XSS -----------------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str, what: str) -> None:
    """As a browser parses it: no element from user text, no event handler, no script but ours."""
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag != "img", what
        assert not any(name.startswith("on") for name in attrs), (what, tag, attrs)
        if tag == "script":
            assert attrs.get("src") == "/static/console.js", what
        if tag == "a":
            assert attrs.get("href", "").startswith(("/", "#", "https://", "http://")), (what, attrs)


async def test_stored_xss_in_messages_notes_and_names_renders_inert(console):
    console.staff.create_user("xss", XSS[:80], PASSWORD, "beheerder")
    t = console.ticket(
        question=f"Vraag {XSS}",
        gemeente=XSS,
        transcript=[("gebruiker", f"hallo {XSS}", None), ("assistent", f"Antwoord {XSS}", None)],
    )
    console.rasa.trackers[t.conversation_id] = [
        answer_event(f"Antwoord {XSS}", XSS, 'https://example.org/"onmouseover=alert(1)'),
        answer_event("Echt antwoord.", "Titel", "javascript:alert(1)"),
    ]
    csrf = await console.login("xss")
    await console.post(f"/helpdesk/vraag/{t.public_id}/oppakken", {"csrf": csrf})
    await console.post(f"/helpdesk/vraag/{t.public_id}/notitie", {"csrf": csrf, "tekst": f"notitie {XSS}"})
    await console.post(f"/helpdesk/vraag/{t.public_id}/bericht", {"csrf": csrf, "tekst": f"antwoord {XSS}"})
    await console.post("/helpdesk/standaardantwoorden", {"csrf": csrf, "titel": XSS, "tekst": XSS})
    console.tickets.add_message(t.id, "gebruiker", None, f"later {XSS}")
    for path in (
        f"/helpdesk/vraag/{t.public_id}",
        "/helpdesk/wachtrij",
        "/helpdesk/standaardantwoorden",
        "/helpdesk/medewerkers",
    ):
        html = await (await console.client.get(path)).text()
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html, path
        assert 'href="javascript:' not in html, path
        assert_inert(html, path)
    detail = await (await console.client.get(f"/helpdesk/vraag/{t.public_id}")).text()
    assert detail.count("&lt;script&gt;") >= 5
    # The JSON API carries the text as data (console.js gets escaped fragments: test_console_fragments.py).
    api = await (await console.client.get(f"/helpdesk/api/vraag/{t.public_id}")).json()
    assert any(XSS in m["tekst"] for m in api["berichten"])


# -- roles ---------------------------------------------------------------------------------------


async def test_a_medewerker_cannot_do_beheerder_actions(console):
    reply = console.tickets.save_canned_reply("Openingstijden", "We zijn er op werkdagen.")
    csrf = await console.login("mo")
    page = await (await console.client.get("/helpdesk/standaardantwoorden")).text()
    assert "Openingstijden" in page and "Verwijderen" not in page and "Alleen een beheerder" in page
    assert (await console.client.get("/helpdesk/medewerkers")).status == 403
    for path, data in [
        ("/helpdesk/standaardantwoorden", {"titel": "Nieuw", "tekst": "tekst"}),
        (f"/helpdesk/standaardantwoorden/{reply.id}/verwijderen", {}),
        ("/helpdesk/medewerkers", {"gebruikersnaam": "eve", "naam": "Eve", "wachtwoord": PASSWORD, "rol": "beheerder"}),
        ("/helpdesk/medewerkers/mo/rol", {"rol": "beheerder"}),
        ("/helpdesk/medewerkers/sam/ontgrendelen", {}),
    ]:
        resp = await console.post(path, dict(data, csrf=csrf))
        assert resp.status == 403, path
        assert "Alleen een beheerder" in await resp.text()
    assert [r.title for r in console.tickets.canned_replies()] == ["Openingstijden"]
    assert console.staff.get_by_username("eve") is None
    assert console.staff.get_by_username("mo").role == "medewerker"
    # A beheerder can.
    console.logout_cookies()
    csrf = await console.login("bea")
    resp = await console.post("/helpdesk/standaardantwoorden", {"csrf": csrf, "titel": "Nieuw", "tekst": "Tekst"})
    assert resp.status == 303 and "opgeslagen" in resp.headers["Location"]
    resp = await console.post(f"/helpdesk/standaardantwoorden/{reply.id}/verwijderen", {"csrf": csrf})
    assert resp.status == 303 and "verwijderd" in resp.headers["Location"]
    assert [r.title for r in console.tickets.canned_replies()] == ["Nieuw"]
    resp = await console.post(
        "/helpdesk/medewerkers",
        {"csrf": csrf, "gebruikersnaam": "eve", "naam": "Eve", "wachtwoord": PASSWORD, "rol": "medewerker"},
    )
    assert resp.status == 303 and console.staff.get_by_username("eve").role == "medewerker"


async def test_a_medewerker_cannot_take_over_a_colleagues_conversation(console):
    t = console.ticket()
    sam = console.staff.get_by_username("sam")
    console.tickets.claim(t.id, sam)
    console.tickets.go_live(t.id, sam)
    csrf = await console.login("mo")
    page = await (await console.client.get(f"/helpdesk/vraag/{t.public_id}")).text()
    assert "behandeld door Sam Collega" in page and 'id="antwoord-form"' not in page
    for action in ("bericht", "terug", "afronden"):
        resp = await console.post(
            f"/helpdesk/vraag/{t.public_id}/{action}", {"csrf": csrf, "tekst": "hoi"}, json_reply=True
        )
        assert resp.status == 403, action
        assert (await resp.json())["melding"] == "Deze vraag wordt door een collega behandeld."
    resp = await console.post(f"/helpdesk/vraag/{t.public_id}/oppakken", {"csrf": csrf}, json_reply=True)
    assert resp.status == 409 and (await resp.json())["melding"] == "Deze vraag is al opgepakt door Sam Collega."
    ticket = console.tickets.get_ticket(t.id)
    assert ticket.state == "live" and ticket.assigned_name == "Sam Collega"
    assert [m.sender for m in console.tickets.messages_after(t.id)] == []


async def test_losing_the_claim_race_gives_a_dutch_message(console):
    t = console.ticket()
    console.tickets.claim(t.id, console.staff.get_by_username("sam"))
    csrf = await console.login("mo")
    resp = await console.post(f"/helpdesk/vraag/{t.public_id}/oppakken", {"csrf": csrf})
    assert resp.status == 303 and "melding=" in resp.headers["Location"]
    page = await (await console.client.get(resp.headers["Location"])).text()
    assert "Deze vraag is al opgepakt door Sam Collega." in page


# -- routing -----------------------------------------------------------------------------------


async def test_staff_actions_reach_the_tracker_and_the_console(console):
    conv = "gesprek-routing"
    t = console.ticket(
        conv,
        transcript=[("gebruiker", "Vanaf wanneer kon je aanvragen?", None), ("assistent", "Vanaf 7 juli 2025.", None)],
        gemeente="Rotterdam",
    )
    # The answer's sources are data in the tracker (bot/core/reply.py), never parsed from text.
    console.rasa.trackers[conv] = [
        answer_event("Vanaf 7 juli 2025.", "Regeling SPUK", "https://wetten.overheid.nl/spuk")
    ]
    console.rasa.paused[conv] = True
    csrf = await console.login("mo")
    page = await (await console.client.get(f"/helpdesk/vraag/{t.public_id}")).text()
    assert "Rotterdam" in page and "gecontroleerd via het portaal" in page
    assert 'href="https://wetten.overheid.nl/spuk"' in page and "Regeling SPUK" in page
    ws = await console.client.ws_connect("/helpdesk/ws", headers={"Origin": console.origin})
    await ws.send_json({"type": "hello", "csrf": csrf, "ticket": t.public_id, "after": 2})
    frames = [await ws.receive_json(timeout=5) for _ in range(3)]
    assert [f["type"] for f in frames] == ["ready", "queue", "ticket"]

    resp = await console.post(f"/helpdesk/vraag/{t.public_id}/oppakken", {"csrf": csrf})
    assert resp.status == 303
    resp = await console.post(
        f"/helpdesk/vraag/{t.public_id}/bericht",
        {"csrf": csrf, "tekst": "Hallo, ik help je.", "client_id": "abcdefgh12345678"},
        json_reply=True,
    )
    body = await resp.json()
    assert body["ok"] and body["afgeleverd"] is True and body["bericht"]["auteur"] == "Mo Medewerker"
    # The same client id again (a retry): stored and delivered once.
    again = await console.post(
        f"/helpdesk/vraag/{t.public_id}/bericht",
        {"csrf": csrf, "tekst": "Hallo, ik help je.", "client_id": "abcdefgh12345678"},
        json_reply=True,
    )
    assert (await again.json())["bericht"]["volgnummer"] == body["bericht"]["volgnummer"]
    bots = [e for e in console.rasa.posted if e["event"] == "bot"]
    assert [b["text"] for b in bots] == [
        "Je praat nu met Mo Medewerker, medewerker van de helpdesk.",
        "Hallo, ik help je.",
    ]
    handoff_id = f"h-{t.public_id}-{body['bericht']['volgnummer']}"
    assert bots[1]["metadata"] == {"agent": "Mo Medewerker", "handoff_id": handoff_id}

    seen: list[dict[str, Any]] = []
    while not any(m["tekst"] == "Hallo, ik help je." for m in seen):
        frame = await ws.receive_json(timeout=5)
        if frame["type"] == "messages":
            seen.extend(frame["messages"])
    assert [m["volgnummer"] for m in seen] == sorted({m["volgnummer"] for m in seen})  # no doubles, in order

    resp = await console.post(f"/helpdesk/vraag/{t.public_id}/terug", {"csrf": csrf})
    assert resp.status == 303 and "teruggegeven" in resp.headers["Location"]
    tail = [e["event"] for e in console.rasa.posted[-3:]]
    assert tail == ["resume", "bot", "action"] and "digitale assistent" in console.rasa.posted[-2]["text"]
    assert console.rasa.posted[-1]["name"] == "action_listen"
    assert console.rasa.paused[conv] is False
    assert console.tickets.get_ticket(t.id).state == "teruggegeven"
    await ws.close()


# -- routing from the widget (chat socket) ----------------------------------------------------


async def chat_hello(console, session=None):
    ws = await console.client.ws_connect("/chat/ws", headers={"Origin": console.origin})
    await ws.send_json({"type": "hello", "session": session})
    ready = await ws.receive_json(timeout=5)
    assert ready["type"] == "ready"
    return ws, ready


async def test_a_handoff_from_the_widget_to_the_console_and_back(console):
    fake = console.rasa

    def action(sender: str, text: str):
        if "medewerker" in text:  # what action_handoff_create does, in short
            console.tickets.create_ticket(sender, "Vraag over mijn budget", transcript=[("gebruiker", text, None)])
            return "Dank je, je vraag staat klaar voor een medewerker van de helpdesk."
        return None

    fake.on_message = action
    widget, ready = await chat_hello(console)
    token = ready["session"]
    sid = sid_of(token)
    await widget.send_json({"type": "message", "id": "bericht-0001", "text": "ik wil een medewerker spreken"})
    frames = await frames_until(widget, lambda f: f["type"] == "handoff")
    assert [f["type"] for f in frames] == ["ack", "typing", "reply", "handoff"]
    assert frames[-1]["handoff"]["state"] == "wachtrij"
    ticket = console.tickets.active_ticket_for_conversation(sid)

    csrf = await console.login("mo")
    staff_ws = await console.client.ws_connect("/helpdesk/ws", headers={"Origin": console.origin})
    await staff_ws.send_json({"type": "hello", "csrf": csrf, "ticket": ticket.public_id, "after": 0})
    await frames_until(staff_ws, lambda f: f["type"] == "messages")

    # While waiting: the user's message (masked) goes to the ticket and the console, and the
    # assistant still answers, with a reminder that the question waits. A resend is stored once.
    for attempt in range(2):
        await widget.send_json({"type": "message", "id": "bericht-0002", "text": "Mijn mail is jan@example.nl"})
        frames = await frames_until(widget, lambda f: f["type"] == "reply")
        if attempt == 0:
            assert "typing" in [f["type"] for f in frames]
        texts = [m["text"] for m in frames[-1]["messages"]]
        assert texts[0].startswith("Je schreef") and "staat nog in de wachtrij" in texts[-1]
        assert frames[-1]["messages"][-1]["buttons"] == [{"title": "Vraag intrekken", "payload": "/handoff_intrekken"}]
    stored = [m for m in console.tickets.messages_after(ticket.id) if m.client_msg_id == "bericht-0002"]
    assert len(stored) == 1 and stored[0].text == "Mijn mail is [e-mailadres]"
    frame = await frames_until(staff_ws, lambda f: f["type"] == "messages")
    assert [m["tekst"] for m in frame[-1]["messages"]] == ["Mijn mail is [e-mailadres]"]

    # Staff take over and reply: the widget sees who it talks to, and the message with the name.
    await console.post(f"/helpdesk/vraag/{ticket.public_id}/oppakken", {"csrf": csrf})
    frames = await frames_until(widget, lambda f: f["type"] == "agent")
    handoff = next(f for f in frames if f["type"] == "handoff")["handoff"]
    assert handoff == {"state": "live", "label": "In gesprek", "agent": "Mo Medewerker"}
    assert frames[-1]["messages"][0]["text"] == "Je praat nu met Mo Medewerker, medewerker van de helpdesk."
    assert fake.paused[sid] is True  # from now on Rasa answers nothing; the medewerker does
    await widget.send_json({"type": "message", "id": "bericht-0004", "text": "Fijn, dank je."})
    frames = await frames_until(widget, lambda f: f["type"] == "reply")
    assert "typing" not in [f["type"] for f in frames] and frames[-1]["messages"] == []
    resp = await console.post(
        f"/helpdesk/vraag/{ticket.public_id}/bericht", {"csrf": csrf, "tekst": "Ik kijk even mee."}, json_reply=True
    )
    seq = (await resp.json())["bericht"]["volgnummer"]
    frames = await frames_until(widget, lambda f: f["type"] == "agent")
    assert frames[-1]["messages"] == [
        {"id": f"h-{ticket.public_id}-{seq}", "text": "Ik kijk even mee.", "buttons": [], "agent": "Mo Medewerker"}
    ]

    # Reconnect (reload): the history has the helpdesk messages once, with the same ids.
    await widget.close()
    widget, ready = await chat_hello(console, token)
    assert ready["handoff"]["state"] == "live" and ready["handoff"]["agent"] == "Mo Medewerker"
    agent_entries = [e for e in ready["history"] if e.get("agent")]
    assert [(e["id"], e["text"]) for e in agent_entries] == [(f"h-{ticket.public_id}-{seq}", "Ik kijk even mee.")]
    assert sum(1 for e in ready["history"] if e["text"].startswith("Je praat nu met Mo")) == 1

    # Back to the assistant: it says so, and answers again.
    await console.post(f"/helpdesk/vraag/{ticket.public_id}/terug", {"csrf": csrf})
    frames = await frames_until(widget, lambda f: f["type"] == "agent")
    assert any(f["type"] == "handoff" and f["handoff"] is None for f in frames)
    assert "digitale assistent" in frames[-1]["messages"][0]["text"]
    await widget.send_json({"type": "message", "id": "bericht-0003", "text": "Vanaf wanneer kon je aanvragen?"})
    frames = await frames_until(widget, lambda f: f["type"] == "reply")
    assert "7 juli 2025" in frames[-1]["messages"][0]["text"]
    assert console.tickets.active_ticket_for_conversation(sid) is None
    assert len([m for m in console.tickets.messages_after(ticket.id) if m.client_msg_id == "bericht-0003"]) == 0
    await widget.close()
    await staff_ws.close()


async def test_wiping_the_conversation_closes_its_ticket(console):
    widget, ready = await chat_hello(console)
    sid = sid_of(ready["session"])
    t = console.tickets.create_ticket(sid, "Een vraag die niemand meer leest")
    await widget.send_json({"type": "reset"})
    fresh = await frames_until(widget, lambda f: f["type"] == "ready")
    assert sid_of(fresh[-1]["session"]) != sid and fresh[-1].get("handoff") is None

    await poll_async(lambda: console.tickets.get_ticket(t.id).state == "afgerond", 5, "the ticket closed")
    assert console.tickets.events(t.id)[-1].actor == "gebruiker"
    await widget.close()


async def test_the_gateway_refuses_to_start_in_production_with_a_demo_account(tmp_path):
    import os
    import sys

    from bot.handoff.demo import ensure_demo_user

    env = {k: v for k, v in os.environ.items() if not k.startswith("KW_")}
    env.update(
        {
            "KW_VAR_DIR": str(tmp_path),
            "KW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "KW_RASA_TOKEN": "t" * 32,
            "KW_PORTAL_JWT_SECRET": "p" * 32,
            "KW_API_TOKEN": "a" * 32,
            "KW_COOKIE_SECRET": "c" * 32,
            "KW_OPS_TOKEN": "o" * 32,
            "KW_IDENTITY_KEY": "i" * 32,
            "KW_GATEWAY_PORT": "1",
            "KW_CONTACT_KEY": "dGVzdC1jb250YWN0LWtleS0wMTIzNDU2Nzg5YWJjZGU=",
            "PYTHONPATH": str(settings_mod.ROOT),
        }
    )
    demo_settings = settings_mod.load(dict(env, KW_ENV="demo"))
    prepare_database(demo_settings)
    ensure_demo_user(demo_settings, out=None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.web",
        cwd=str(settings_mod.ROOT),
        env=dict(env, KW_ENV="production"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 2
    assert "demo-medewerker" in err.decode() and "staff-remove-demo" in err.decode()
