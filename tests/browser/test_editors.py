"""The editors' page (Redactie) in chromium, against the real gateway process (`python -m bot.web`)
in front of the fake Rasa of tests/integration/conftest.py (the page never asks Rasa; no model
needed).

A redacteur logs in and lands on the page, filled with many seeded questions and tickets so it is
longer than the viewport; it passes axe-core (WCAG 2.1 A/AA) at 1280 and 320 px, without
sideways scrolling; the SVG chart has an accessible name and the same numbers in a table; stored
text renders inert; a CSV download works and is escaped. A medewerker gets the 403 page, a
beheerder gets in.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import threading
from pathlib import Path

import pytest
from aiohttp import web
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from bot import launcher, migrations
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.insights import record as rec
from bot.knowledge.loader import load as load_kb
from bot.settings import load
from tests.browser.handoff_helpers import NARROW, WCAG_21_AA, WIDE, assert_scroll_regions_reachable, page_overflow
from tests.browser.widget_helpers import ROOT, SCREENSHOTS
from tests.fixtures.databases import TEST_CONTACT_KEY
from tests.fixtures.gateway import GatewayProcess
from tests.fixtures.handoff import staff_member
from tests.integration.conftest import COOKIE_SECRET, RASA_TOKEN, FakeRasa

PASSWORD = "redactie-wachtwoord-2026"
ACCOUNTS = {
    "rita": ("Rita Redactie", "redacteur"),
    "bea": ("Bea Beheer", "beheerder"),
    "mo": ("Mo Medewerker", "medewerker"),
}
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
FORMULA = '=HYPERLINK("http://example.org";"klik hier")'
#: Distinct not-understood questions (each asked twice, in two wordings): the page is several
#: viewports long.
SUBJECTS = [
    "speeltuin",
    "buurthuis",
    "fietspad",
    "bibliotheek",
    "zwembad",
    "moestuin",
    "jongerenwerk",
    "straatverlichting",
    "bankjes",
    "schoolplein",
    "sportveld",
    "voedselbank",
    "schuldhulp",
    "taalles",
    "huiswerkbegeleiding",
    "buurtbus",
    "wijkagent",
    "ouderenzorg",
    "kinderopvang",
    "muziekles",
    "toneelclub",
    "buurtfeest",
    "groenstrook",
    "geveltuin",
    "zonnepanelen",
    "isolatie",
    "speelplaats",
    "skatebaan",
    "wijkcentrum",
    "repaircafe",
    "kledingbank",
    "computerles",
    "fietsenstalling",
    "parkeerplaatsen",
    "hondenuitlaatplek",
    "picknicktafels",
    "waterpunt",
    "bomen",
    "vuilnisbakken",
    "muurschildering",
    "jeugdhonk",
    "sportschool",
    "dansles",
    "kookcursus",
    "verkeersdrempels",
]
QUESTIONS = len(SUBJECTS)
TICKETS = 20


class FakeRasaServer:
    """FakeRasa served from a thread of its own, for a gateway in another process."""

    def __init__(self) -> None:
        self.fake = FakeRasa()
        self.port = launcher.free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.fake.app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(30), "fake Rasa did not start"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def seed(settings) -> None:
    """Four weeks of use: answered topics, not-understood questions (some with personal data, a
    formula, markup), and helpdesk tickets with several outcomes."""
    url = settings.database_url
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    keys = list(load_kb().answers)[:8]
    for day in range(27):
        at = now - dt.timedelta(days=day, minutes=5)
        for i in range(3 + day % 5):
            rec.record(url, "answered", topic=keys[(day + i) % len(keys)], confidence=0.95, at=at)
    for i, subject in enumerate(SUBJECTS):
        at = now - dt.timedelta(days=i % 20, minutes=i)
        words = f"Is er geld voor {subject} in onze buurt"
        rec.record(url, ("fallback", "choices", "second_chance")[i % 3], confidence=0.4, text=words, at=at)
        rec.record(url, "fallback", confidence=0.3, text=words.lower() + "?", at=at)
    rec.record(url, "fallback", text=f"{FORMULA} mail jan@example.nl", at=now)
    rec.record(url, "fallback", text=XSS, at=now)
    rec.record(url, "answered", topic=keys[0], confidence=0.5, text="Hoe lang loopt het nog?", at=now)
    tickets = HandoffService(url, contact_key=TEST_CONTACT_KEY)
    bea = staff_member(StaffService(url), "bea")
    for i in range(TICKETS):
        question = f"Ik wil weten waarom aanvraag {i % 6} nog loopt. Bel 06-1234567{i % 10}"
        t = tickets.create_ticket(f"redactie-{i}", question, now=now - dt.timedelta(days=i % 14, hours=1))
        if i % 3 == 0:
            tickets.close(t.id, bea, reason="test")
    tickets.create_ticket("redactie-xss", "-1 euro? " + XSS, now=now)


@pytest.fixture(scope="module")
def editors_gateway(tmp_path_factory):
    fake = FakeRasaServer()
    fake.start()
    var = tmp_path_factory.mktemp("editors")
    env = launcher.isolated_env(
        var,
        {
            "KW_RASA_PORT": str(fake.port),
            "KW_RASA_WORKERS": "1",  # one fake Rasa
            "KW_ACTIONS_PORT": str(fake.port),
            "KW_RASA_TOKEN": RASA_TOKEN,
            "KW_COOKIE_SECRET": COOKIE_SECRET,
            "KW_CONTACT_KEY": TEST_CONTACT_KEY,
            "KW_GATEWAY_HOST": "127.0.0.1",
            "KW_RATE_LIMIT_PER_MINUTE": "600",
            "PYTHONPATH": str(ROOT),
        },
    )
    settings = load(env)
    migrations.upgrade(settings.database_url)
    staff = StaffService(settings.database_url)
    for username, (name, role) in ACCOUNTS.items():
        staff.create_user(username, name, PASSWORD, role)
    seed(settings)
    proc = GatewayProcess(env, Path(var) / "gateway.log")
    proc.start()
    yield proc
    proc.stop()
    fake.stop()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make():
        ctx = browser.new_context(viewport=WIDE, locale="nl-NL", accept_downloads=True)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.csp_messages = []
        page.on("console", lambda m: page.csp_messages.append(m.text) if "Content Security Policy" in m.text else None)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def log_in(page, url: str, username: str) -> None:
    page.goto(url + "/helpdesk")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()


def accessible_at_both_widths(page, what: str) -> None:
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        label = f"{what} at {size['width']} px"
        results = Axe().run(page, options=WCAG_21_AA)
        assert results.violations_count == 0, f"{label}:\n{results.generate_report()}"
        assert_scroll_regions_reachable(page, label)
        assert page_overflow(page)["sideways"] <= 0, f"{label}: the page scrolls sideways"
    page.set_viewport_size(WIDE)


def test_a_redacteur_reads_the_editors_page_accessibly_and_downloads_csv(new_page, editors_gateway):
    page = new_page()
    log_in(page, editors_gateway.url, "rita")
    expect(page).to_have_url(re.compile(r"/helpdesk/redactie$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Redactie: wat vragen mensen?")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Redactie")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Wachtrij")).to_have_count(0)

    chart = page.get_by_role("img", name=re.compile(r"^Grafiek: vragen, niet begrepen vragen en vragen naar"))
    expect(chart).to_be_visible()
    assert "De tabel onder de grafiek geeft alle getallen" in chart.evaluate(
        "el => document.getElementById('grafiek-uitleg').textContent"
    )
    expect(chart.locator("polyline")).to_have_count(3)
    expect(page.locator("#tabel-per-dag tbody tr")).to_have_count(28)
    questions = page.locator("#tabel-vragen tbody tr")
    # Two wordings of each question are one row; the formula, the markup and the unsure answer
    # have rows of their own.
    expect(questions).to_have_count(QUESTIONS + 3)
    row = questions.filter(has_text="Is er geld voor speeltuin in onze buurt")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("2")
    expect(page.locator("#tabel-redenen tbody tr").first).to_contain_text("[telefoonnummer]")
    assert "06-1234567" not in page.content() and "jan@example.nl" not in page.content()
    expect(page.locator("#tabel-onderwerpen tbody tr").first).to_be_visible()
    expect(page.get_by_text(XSS).first).to_be_visible()  # shown as text …
    assert page.evaluate("() => window.__xss") is None  # … never run
    assert page_overflow(page)["down"] > 3 * WIDE["height"], "the page should be several viewports long"

    accessible_at_both_widths(page, "editors' page, long")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-redactie.png"), full_page=False)
    page.set_viewport_size(NARROW)
    page.screenshot(path=str(SCREENSHOTS / "console-redactie-320.png"), full_page=False)
    page.set_viewport_size(WIDE)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Niet \\(goed\\) begrepen vragen")).click()
    download = download_info.value
    assert re.fullmatch(r"redactie-vragen-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:2] == ["vraag (gemaskeerd)", "aantal"]
    cells = [r[0] for r in rows[1:]]
    assert f"'{FORMULA} mail [e-mailadres]" in cells
    assert not any(c[:1] in ("=", "+", "-", "@") for c in cells)
    with page.expect_download() as reasons_info:
        page.get_by_role("link", name=re.compile("^Redenen om een medewerker te vragen")).click()
    reasons = Path(reasons_info.value.path()).read_bytes().decode("utf-8-sig")
    assert "'-1 euro? <img" in reasons and "06-1234567" not in reasons
    assert not page.csp_messages, page.csp_messages


def test_a_medewerker_gets_403_and_a_beheerder_gets_in(new_page, editors_gateway):
    mo = new_page()
    log_in(mo, editors_gateway.url, "mo")
    expect(mo.get_by_role("navigation", name="Console").get_by_role("link", name="Redactie")).to_have_count(0)
    response = mo.goto(editors_gateway.url + "/helpdesk/redactie")
    assert response.status == 403
    expect(mo.get_by_role("heading", level=1)).to_have_text("Geen toegang")
    expect(mo.get_by_text("Deze pagina is alleen voor redacteuren en beheerders.")).to_be_visible()
    assert "speeltuin" not in mo.content()
    response = mo.goto(editors_gateway.url + "/helpdesk/redactie/vragen.csv")
    assert response.status == 403

    bea = new_page()
    log_in(bea, editors_gateway.url, "bea")
    expect(bea).to_have_url(re.compile(r"/helpdesk/wachtrij$"))
    bea.get_by_role("navigation", name="Console").get_by_role("link", name="Redactie").click()
    expect(bea.get_by_role("heading", level=1)).to_have_text("Redactie: wat vragen mensen?")
    bea.get_by_label("Periode").select_option("7")
    bea.get_by_role("button", name="Tonen").click()
    expect(bea).to_have_url(re.compile(r"/helpdesk/redactie\?dagen=7$"))
    expect(bea.locator("#tabel-per-dag tbody tr")).to_have_count(7)
