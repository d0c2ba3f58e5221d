"""The console's live updates in a real browser: console.js puts the server's fragments in the page.

Against a real gateway process (`python -m bot.web`) in front of the fake Rasa of
tests/integration/conftest.py (run in a thread here), so these tests need no trained model: the
console only asks Rasa for tracker events and appends to them. Tickets and messages are made
with the ticket library, as the action server and the chat do; the console sees them through
its socket (the poll). Checked: the queue follows live and keeps the focus on a row that did not
change; a message with HTML in it arrives as text; a reply is sent and shown without a page load;
a note and a status change arrive; live messages move neither the focus nor the place of a
reader; no CSP violation; axe after the updates; after a gateway restart the console reconnects
and gets what it missed. The full handoff with Rasa is test_handoff.py.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from bot import settings as settings_mod
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from tests.browser.handoff_helpers import LIVE_MS, PASSWORD, WCAG_21_AA, console_messages, staff_login
from tests.browser.widget_helpers import ROOT
from tests.fixtures.databases import TEST_CONTACT_KEY
from tests.fixtures.gateway import GatewayProcess, free_port
from tests.integration.conftest import COOKIE_SECRET, RASA_TOKEN, FakeRasa

HTML_TEXT = "Hallo <b>vet</b> <img src=x onerror=alert(1)>"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


class FakeRasaThread:
    """The fake Rasa on a port of its own, served by an event loop in a thread."""

    def __init__(self) -> None:
        self.fake = FakeRasa()
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner = web.AppRunner(self.fake.app)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._runner.setup())
        self.loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def start(self) -> FakeRasaThread:
        self._thread.start()
        assert self._ready.wait(10), "fake Rasa did not start"
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Gateway process + fake Rasa on a fresh app database; yields (gateway, tickets, staff)."""
    var = tmp_path_factory.mktemp("console-live")
    rasa = FakeRasaThread().start()
    env: dict[str, str] = {
        "KW_VAR_DIR": str(var),
        "KW_DATABASE_URL": f"sqlite:///{var / 'app.db'}",
        "KW_RASA_TOKEN": RASA_TOKEN,
        "KW_COOKIE_SECRET": COOKIE_SECRET,
        "KW_CONTACT_KEY": TEST_CONTACT_KEY,
        "KW_RASA_PORT": str(rasa.port),
        "KW_RASA_WORKERS": "1",  # one fake Rasa
        "KW_ACTIONS_PORT": str(rasa.port),
        "KW_HELPDESK_HOURS": "ma-zo 00:00-24:00",
        "KW_HELPDESK_POLL_S": "0.5",
        "KW_GATEWAY_HOST": "127.0.0.1",
        "KW_GATEWAY_PORT": str(free_port()),
    }
    settings = settings_mod.load(env)
    full = {k: v for k, v in os.environ.items() if not k.startswith("KW_")}
    full.update(env, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    gateway = GatewayProcess(full, Path(var) / "gateway.log")
    gateway.start()  # it creates the app database (migrations) before it answers /healthz
    staff = StaffService.from_settings(settings)
    staff.create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    try:
        yield gateway, HandoffService.from_settings(settings), staff
    finally:
        gateway.stop()
        rasa.stop()


@pytest.fixture
def console_page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.problems = []
    page.on(
        "console",
        lambda msg: (
            page.problems.append(msg.text) if "Content Security Policy" in msg.text or msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("dialog", lambda d: (page.problems.append("dialog: " + d.message), d.dismiss()))
    yield page
    ctx.close()


def no_markup_from_text(page) -> None:
    """Nothing of the users' text became an element, and nothing of it ran."""
    assert page.evaluate("() => document.querySelectorAll('main img, main script, main b').length") == 0
    assert page.evaluate("() => window.__xss === undefined")


def test_queue_follows_live_and_keeps_the_focus(console_page, stack):
    gateway, tickets, staff = stack
    run = str(time.time_ns())
    first = tickets.create_ticket(f"live-q1-{run}", "Eerste vraag in de wachtrij")
    page = console_page
    staff_login(page, gateway.url, "mo")
    expect(page.locator("#live-status")).to_have_text("Deze pagina wordt live bijgewerkt.")
    link = page.get_by_role("link", name="Bekijken: Eerste vraag in de wachtrij")
    link.focus()
    first_row = f'#wachtrij-rijen tr[data-id="{first.public_id}"]'
    page.eval_on_selector(first_row, "row => { row.kept = true; }")
    count = int(page.locator("#wachtrij-aantal").inner_text())

    second = tickets.create_ticket(f"live-q2-{run}", f"Tweede vraag {HTML_TEXT} {XSS}", gemeente="Breda")
    new_link = page.get_by_role("link", name=f"Bekijken: Tweede vraag {HTML_TEXT} {XSS}")
    expect(new_link).to_be_visible(timeout=LIVE_MS)
    expect(page.locator("#wachtrij-aantal")).to_have_text(str(count + 1))
    expect(page.locator(f'#wachtrij-rijen tr[data-id="{second.public_id}"] td').nth(1)).to_have_text("Breda")
    expect(page.locator("#live-status")).to_have_text("Er is een nieuwe vraag in de wachtrij.")
    expect(link).to_be_focused()  # the unchanged row is the same element: the focus stayed
    assert page.eval_on_selector(first_row, "row => row.kept === true")
    no_markup_from_text(page)

    # Taken by a colleague: the row moves to "In behandeling"; a changed row that had the focus
    # passes it to its new link.
    mo = staff.get_by_username("mo")
    tickets.claim(first.id, mo)
    expect(link).to_have_count(1, timeout=LIVE_MS)  # now only in the other table
    expect(page.locator("#wachtrij-aantal")).to_have_text(str(count))
    row = page.locator(f'#actief-rijen tr[data-id="{first.public_id}"]')
    expect(row.locator("td").nth(1)).to_have_text("Opgepakt")
    row.get_by_role("link").focus()
    tickets.go_live(first.id, mo)
    expect(row.locator("td").nth(1)).to_have_text("In gesprek", timeout=LIVE_MS)
    expect(row.get_by_role("link")).to_be_focused()
    tickets.close(first.id, "systeem", reason="einde browsertest")
    expect(link).to_have_count(0, timeout=LIVE_MS)
    tickets.close(second.id, "systeem", reason="einde browsertest")
    expect(new_link).to_have_count(0, timeout=LIVE_MS)
    assert page.problems == []


def test_ticket_page_live_messages_reply_note_and_status(console_page, stack):
    gateway, tickets, _ = stack
    run = str(time.time_ns())
    t = tickets.create_ticket(
        f"live-t-{run}",
        "Mag ik het budget later besteden?",
        transcript=[
            ("gebruiker" if i % 2 == 0 else "assistent", f"Bericht {i + 1} over de aanvraag en de planning.", None)
            for i in range(40)
        ],
    )
    page = console_page
    staff_login(page, gateway.url, "mo")
    page.goto(f"{gateway.url}/helpdesk/vraag/{t.public_id}")
    page.get_by_role("button", name="Oppakken").click()
    expect(page.locator("#ticket-status")).to_have_text("In gesprek (Mo Medewerker)")
    expect(page.locator("#live-status")).to_have_text("Deze pagina wordt live bijgewerkt.")
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page reloads

    # A user message with HTML in it arrives live, as text.
    tickets.add_message(t.id, "gebruiker", None, HTML_TEXT)
    expect(console_messages(page).last).to_have_text(HTML_TEXT, timeout=LIVE_MS)
    tickets.add_message(t.id, "gebruiker", None, f"Nog een {XSS}")
    expect(console_messages(page).last).to_have_text(f"Nog een {XSS}", timeout=LIVE_MS)
    no_markup_from_text(page)

    # Reading back (at the top of the transcript, focus in it): a live message moves neither.
    log = page.get_by_role("log", name="Gesprek met de gebruiker")
    log.focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => document.getElementById('gesprek').scrollTop === 0")
    count = console_messages(page).count()
    tickets.add_message(t.id, "gebruiker", None, "Terwijl je terugleest.")
    expect(console_messages(page)).to_have_count(count + 1, timeout=LIVE_MS)
    expect(log).to_be_focused()
    assert log.evaluate("el => el.scrollTop") == 0
    # At the end, the transcript follows.
    page.keyboard.press("End")
    page.wait_for_function(
        "() => { const el = document.getElementById('gesprek');"
        " return el.scrollTop >= el.scrollHeight - el.clientHeight - 1; }"
    )
    tickets.add_message(t.id, "gebruiker", None, "Aan het eind.")
    expect(console_messages(page)).to_have_count(count + 2, timeout=LIVE_MS)
    page.wait_for_function(
        "() => { const el = document.getElementById('gesprek');"
        " return el.scrollTop >= el.scrollHeight - el.clientHeight - 1; }"
    )
    expect(log).to_be_focused()

    # A reply: sent with fetch, shown at once, no page load; each message once, in seq order.
    box = page.get_by_label("Je bericht aan de gebruiker")
    box.fill(f"Antwoord {HTML_TEXT}")
    page.get_by_role("button", name="Versturen").click()
    expect(page.locator("#antwoord-status")).to_have_text("Verstuurd.")
    expect(console_messages(page).last).to_have_text(f"Antwoord {HTML_TEXT}")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(page.locator("#berichten .c-msg--medewerker .c-msg__who").last).to_contain_text("Medewerker Mo Medewerker")
    seqs = page.evaluate(
        "() => Array.from(document.querySelectorAll('#berichten [data-seq]')).map(li => Number(li.dataset.seq))"
    )
    assert seqs == list(range(1, 40 + 1 + 4 + 1 + 1))  # transcript, take-over line, 4 live, reply

    # A note, from the form; it arrives once (the answer and the socket both bring it).
    page.get_by_label("Nieuwe notitie").fill(f"Notitie {HTML_TEXT}")
    page.get_by_role("button", name="Notitie opslaan").click()
    expect(page.locator("#notitie-status")).to_have_text("Je notitie is opgeslagen.")
    expect(page.locator("#notities li")).to_have_count(1)
    expect(page.locator("#notities .c-msg__text")).to_have_text(f"Notitie {HTML_TEXT}")
    expect(page.locator("#geen-notities")).to_be_hidden()
    no_markup_from_text(page)
    assert page.evaluate("() => window.__sameDocument === true")
    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, results.generate_report()

    # Closed elsewhere: the status line and a notice with a link to reload the page.
    tickets.close(t.id, "systeem", reason="einde browsertest")
    expect(page.locator("#ticket-status")).to_have_text("Afgerond (Mo Medewerker)", timeout=LIVE_MS)
    notice = page.locator("#ticket-melding")
    expect(notice).to_contain_text("De status is gewijzigd: Afgerond.")
    expect(notice.get_by_role("link", name="Vernieuw de pagina")).to_have_attribute(
        "href", f"/helpdesk/vraag/{t.public_id}"
    )
    assert page.evaluate("() => window.__sameDocument === true")
    assert page.problems == []


def test_console_reconnects_after_a_gateway_restart_and_misses_nothing(console_page, stack):
    gateway, tickets, _ = stack
    t = tickets.create_ticket(
        f"live-r-{time.time_ns()}", "Komt mijn bericht nog aan?", transcript=[("gebruiker", "Eerste bericht.", None)]
    )
    page = console_page
    staff_login(page, gateway.url, "mo")
    page.goto(f"{gateway.url}/helpdesk/vraag/{t.public_id}")
    expect(page.locator("#live-status")).to_have_text("Deze pagina wordt live bijgewerkt.")
    gateway.stop()
    try:
        expect(page.locator("#live-status")).to_have_text("Verbinding herstellen\u2026", timeout=LIVE_MS)
        tickets.add_message(t.id, "gebruiker", None, f"Terwijl de console weg was {HTML_TEXT}")
    finally:
        gateway.start()
    expect(page.locator("#live-status")).to_have_text("Deze pagina wordt live bijgewerkt.", timeout=LIVE_MS)
    expect(console_messages(page)).to_have_text(
        ["Eerste bericht.", f"Terwijl de console weg was {HTML_TEXT}"], timeout=LIVE_MS
    )
    no_markup_from_text(page)
    tickets.close(t.id, "systeem", reason="einde browsertest")
    # The closed socket and the failed reconnects are logged by the browser; nothing else is.
    assert [p for p in page.problems if "WebSocket" not in p and "ERR_CONNECTION_REFUSED" not in p] == []
