"""The console's server-rendered fragments (bot/web/console/fragments.py), against the fake Rasa
of tests/integration/conftest.py.

console.js builds no markup: the socket frames and the JSON answers to a reply or a note carry
HTML rendered from the pages' own partial templates. These tests check that those fragments are
the pages' markup, that user and staff text in them is escaped, and that nobody without a
staff session gets any. The browser side is tests/browser/test_console_live.py.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import pytest_asyncio

from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.web.console import prepare_database
from tests.fixtures.console import frames_until
from tests.fixtures.console import login as console_login

pytestmark = pytest.mark.asyncio

PASSWORD = "een-lang-wachtwoord-2026"
HTML_TEXT = '<img src=x onerror=alert(1)> en <b>vet</b> & "quotes"'
ESCAPED = "&lt;img src=x onerror=alert(1)&gt; en &lt;b&gt;vet&lt;/b&gt; &amp; &#34;quotes&#34;"


class _Tags(HTMLParser):
    """The elements of an HTML fragment as a browser's parser finds them, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    return tags


def assert_inert(html: str, allowed: set) -> None:
    """Only the fragment's own elements, no event handler, no link out of the console."""
    for tag, attrs in parse(html).tags:
        assert tag in allowed, (tag, html)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "a":
            assert attrs["href"].startswith("/helpdesk/"), attrs


@pytest_asyncio.fixture
async def console_client(start_gateway):
    client = await start_gateway(KW_HELPDESK_HOURS="ma-zo 00:00-24:00")
    prepare_database(client.settings)
    client.tickets = HandoffService.from_settings(client.settings)
    StaffService.from_settings(client.settings).create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    return client


async def post_json(client, path: str, csrf: str, **data: str):
    return await client.post(
        path,
        data={"csrf": csrf, **data},
        allow_redirects=False,
        headers={"Origin": client.origin, "Accept": "application/json"},
    )


async def test_socket_frames_carry_the_pages_own_escaped_markup(console_client):
    t = console_client.tickets.create_ticket(
        "gesprek-frag", f"Vraag {HTML_TEXT}", gemeente="Utrecht", transcript=[("gebruiker", f"Eerst {HTML_TEXT}", None)]
    )
    csrf = await console_login(console_client, "mo", PASSWORD)
    queue_page = await (await console_client.get("/helpdesk/wachtrij")).text()
    ticket_page = await (await console_client.get(f"/helpdesk/vraag/{t.public_id}")).text()
    ws = await console_client.ws_connect("/helpdesk/ws", headers={"Origin": console_client.origin})
    await ws.send_json({"type": "hello", "csrf": csrf, "ticket": t.public_id, "after": 0})
    assert (await ws.receive_json(timeout=5))["type"] == "ready"

    queue = await ws.receive_json(timeout=5)
    assert queue["type"] == "queue" and set(queue["html"]) == {"wachtrij", "actief", "open"}
    rows = queue["html"]["wachtrij"]
    assert f'<tr data-id="{t.public_id}">' in rows and ESCAPED in rows and "<img" not in rows
    assert rows in queue_page  # the page's table, from the same template
    assert_inert(rows, {"table", "caption", "thead", "tbody", "tr", "th", "td", "span", "a"})
    assert "<tr data-id" not in queue["html"]["actief"] and queue["html"]["actief"] in queue_page
    assert queue["html"]["open"] == "De helpdesk is nu open."

    ticket = await ws.receive_json(timeout=5)
    assert ticket["type"] == "ticket" and ticket["html"]["status"] == "In de wachtrij"
    assert f'href="/helpdesk/vraag/{t.public_id}"' in ticket["html"]["gewijzigd"]

    messages = await ws.receive_json(timeout=5)
    assert messages["type"] == "messages" and [m["volgnummer"] for m in messages["messages"]] == [1]
    assert f"Eerst {ESCAPED}" in messages["html"] and "<b>" not in messages["html"]
    assert messages["html"] in ticket_page
    assert_inert(messages["html"], {"li", "p", "time"})

    # A message stored elsewhere (the poll finds it) comes as a fragment of its own.
    console_client.tickets.add_message(t.id, "gebruiker", None, f"Later {HTML_TEXT}")
    later = (await frames_until(ws, lambda f: f["type"] == "messages"))[-1]
    items = parse(later["html"])
    assert [(tag, a.get("data-seq")) for tag, a in items.tags if tag == "li"] == [("li", "2")]
    assert f"Later {HTML_TEXT}" in "".join(items.text)  # what the browser shows: the text itself
    await ws.close()


async def test_replies_and_notes_answer_with_their_fragment(console_client):
    t = console_client.tickets.create_ticket("gesprek-antwoord", "Hoe vraag ik aan?")
    csrf = await console_login(console_client, "mo", PASSWORD)
    base = f"/helpdesk/vraag/{t.public_id}"
    ws = await console_client.ws_connect("/helpdesk/ws", headers={"Origin": console_client.origin})
    await ws.send_json({"type": "hello", "csrf": csrf, "ticket": t.public_id, "after": 0})
    assert (await post_json(console_client, f"{base}/oppakken", csrf)).status == 200
    status = (await frames_until(ws, lambda f: f["type"] == "ticket" and f["ticket"]["status"] == "live"))[-1]
    assert status["html"]["status"] == "In gesprek (Mo Medewerker)"

    resp = await post_json(
        console_client, f"{base}/bericht", csrf, tekst=f"Antwoord {HTML_TEXT}", client_id="abcdefgh12345678"
    )
    body = await resp.json()
    assert resp.status == 200 and body["ok"]
    seq = body["bericht"]["volgnummer"]
    assert body["html"].startswith(f'<li class="c-msg c-msg--medewerker" data-seq="{seq}">')
    assert f"Antwoord {ESCAPED}" in body["html"] and "Mo Medewerker" in body["html"]
    pushed = (
        await frames_until(ws, lambda f: f["type"] == "messages" and seq in [m["volgnummer"] for m in f["messages"]])
    )[-1]
    assert body["html"] in pushed["html"]  # the socket and the answer: the same markup

    resp = await post_json(console_client, f"{base}/notitie", csrf, tekst=f"Notitie {HTML_TEXT}")
    body = await resp.json()
    note_id = body["notitie"]["id"]
    assert body["html"].startswith(f'<li data-note="{note_id}">') and f"Notitie {ESCAPED}" in body["html"]
    note = (await frames_until(ws, lambda f: f["type"] == "note"))[-1]
    assert note["html"] == body["html"]
    page = await (await console_client.get(base)).text()
    assert body["html"] in page
    await ws.close()


async def test_no_fragments_without_a_staff_session(console_client):
    t = console_client.tickets.create_ticket("gesprek-anoniem", f"Vraag {HTML_TEXT}")
    base = f"/helpdesk/vraag/{t.public_id}"
    resp = await console_client.get(
        "/helpdesk/ws",
        headers={
            "Origin": console_client.origin,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert resp.status == 401 and "Vraag" not in await resp.text()
    for path in (f"{base}/bericht", f"{base}/notitie"):
        resp = await console_client.post(
            path,
            data={"tekst": "hallo", "csrf": "x"},
            headers={"Origin": console_client.origin, "Accept": "application/json"},
        )
        body = await resp.json()
        assert resp.status == 401 and body == {"ok": False, "fout": "Log eerst in."}, path
    assert console_client.tickets.ticket_detail(t.id).messages == ()
    # Logged in, but the socket's hello without the session's token: closed before any frame.
    await console_login(console_client, "mo", PASSWORD)
    ws = await console_client.ws_connect("/helpdesk/ws", headers={"Origin": console_client.origin})
    await ws.send_json({"type": "hello", "csrf": "fout", "ticket": t.public_id, "after": 0})
    await ws.receive(timeout=5)
    assert ws.closed and ws.close_code == 1008
