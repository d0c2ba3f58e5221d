"""The editors' page in the gateway (aiohttp test client, fake Rasa): who gets in, what a
redacteur can no longer reach, the page's content rendered inert, and the CSV downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
import pytest_asyncio

from bot import texts
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.insights import record as rec
from bot.web.console import prepare_database
from tests.fixtures.handoff import staff_member
from tests.fixtures.text import match

pytestmark = pytest.mark.asyncio

PASSWORD = "een-lang-wachtwoord-2026"
XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">'
WS_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@pytest_asyncio.fixture
async def site(start_gateway):
    client = await start_gateway()
    prepare_database(client.settings)
    staff = StaffService.from_settings(client.settings)
    for username, role in (("bea", "beheerder"), ("mo", "medewerker"), ("rita", "redacteur")):
        staff.create_user(username, username.title(), PASSWORD, role)
    return client


async def login(client, username):
    """Log in; returns where the login sent the browser."""
    page = await client.get("/helpdesk/inloggen")
    token = match(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post(
        "/helpdesk/inloggen",
        allow_redirects=False,
        data={"csrf": token, "gebruikersnaam": username, "wachtwoord": PASSWORD},
    )
    assert resp.status == 303, await resp.text()
    return resp.headers["Location"]


def seed(settings):
    url = settings.database_url
    rec.record(url, "fallback", text=XSS)
    rec.record(url, "fallback", text='=HYPERLINK("http://evil";"klik") mail jan@example.nl')
    rec.record(url, "choices", text="Krijgt mijn wijk geld?")
    rec.record(url, "answered", topic="looptijd", confidence=0.99, text="niet bewaard")
    HandoffService.from_settings(settings).create_ticket("c-1", "@gemeente: bel me op 06-12345678 " + XSS)


async def test_a_redacteur_lands_on_the_editors_page_and_reaches_nothing_else(site):
    seed(site.settings)
    assert await login(site, "rita") == "/helpdesk/redactie"
    page = await site.get("/helpdesk/redactie")
    html = await page.text()
    assert page.status == 200
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)" in html
    assert "jan@example.nl" not in html and "[e-mailadres]" in html and "12345678" not in html
    assert "niet bewaard" not in html  # a confident answer keeps no text
    assert 'href="/helpdesk/redactie" aria-current="page">Redactie' in html
    assert 'href="/helpdesk/wachtrij"' not in html and "style=" not in html
    assert 'role="img" aria-labelledby="grafiek-titel grafiek-uitleg"' in html
    assert "<script" not in html.replace('<script src="/static/console.js"', "")
    for path in ("/helpdesk/wachtrij", "/helpdesk/standaardantwoorden", "/helpdesk/medewerkers"):
        resp = await site.get(path, allow_redirects=False)
        assert resp.status == 403, path
    resp = await site.get("/helpdesk/api/wachtrij")
    assert resp.status == 403 and (await resp.json())["fout"] == texts.HELPDESK_ONLY
    blocked = await site.get("/helpdesk/wachtrij")
    assert texts.HELPDESK_ONLY in await blocked.text() and 'href="/helpdesk/redactie"' in await blocked.text()
    ws = await site.get("/helpdesk/ws", headers={"Origin": site.origin, **WS_HEADERS})
    assert ws.status == 403
    assert (await site.get("/helpdesk", allow_redirects=False)).headers["Location"] == "/helpdesk/redactie"


async def test_a_medewerker_gets_the_403_page_and_no_link(site):
    assert await login(site, "mo") == "/helpdesk/wachtrij"
    queue = await site.get("/helpdesk/wachtrij")
    assert 'href="/helpdesk/redactie"' not in await queue.text()
    for path in ("/helpdesk/redactie", "/helpdesk/redactie/vragen.csv"):
        resp = await site.get(path)
        body = await resp.text()
        assert resp.status == 403 and texts.EDITORS_ONLY in body and texts.TITLE_FORBIDDEN in body, path


async def test_anonymous_users_are_sent_to_the_login(site):
    for path in ("/helpdesk/redactie", "/helpdesk/redactie/dagen.csv"):
        resp = await site.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/helpdesk/inloggen"), path


async def test_a_beheerder_gets_in_and_can_make_a_redacteur(site):
    assert await login(site, "bea") == "/helpdesk/wachtrij"
    page = await site.get("/helpdesk/redactie?dagen=7")
    html = await page.text()
    assert page.status == 200 and 'value="7" selected' in html
    assert 'href="/helpdesk/redactie/vragen.csv?dagen=7"' in html
    staff_page = await site.get("/helpdesk/medewerkers")
    staff_html = await staff_page.text()
    assert '<option value="redacteur">redacteur</option>' in staff_html
    csrf = match(r'data-csrf="([^"]+)"', staff_html).group(1)
    resp = await site.post(
        "/helpdesk/medewerkers",
        allow_redirects=False,
        headers={"Origin": site.origin},
        data={"csrf": csrf, "gebruikersnaam": "ed", "naam": "Ed Redactie", "wachtwoord": PASSWORD, "rol": "redacteur"},
    )
    assert resp.status == 303
    assert staff_member(StaffService.from_settings(site.settings), "ed").role == "redacteur"


async def test_csv_downloads_are_attachments_utf8_with_bom_and_escaped(site):
    seed(site.settings)
    await login(site, "rita")
    resp = await site.get("/helpdesk/redactie/vragen.csv?dagen=7")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="redactie-vragen-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv"',
        resp.headers["Content-Disposition"],
    )
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.read()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    questions = [r[0] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil";"klik") mail [e-mailadres]' in questions
    assert not any(q.startswith(("=", "+", "-", "@")) for q in questions)
    reasons = await site.get("/helpdesk/redactie/overdrachten.csv")
    first = list(csv.reader(io.StringIO((await reasons.read()).decode("utf-8-sig")), delimiter=";"))[1]
    assert first[0].startswith("'@gemeente: bel me op [telefoonnummer] <script>") and first[3] == "In de wachtrij 1"
    for name in ("onderwerpen", "dagen", "controle"):
        assert (await site.get(f"/helpdesk/redactie/{name}.csv")).status == 200, name
    assert (await site.get("/helpdesk/redactie/alles.csv")).status == 404
