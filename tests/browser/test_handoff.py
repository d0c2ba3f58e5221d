"""Live handoff to the helpdesk in a real browser: applicant widget and staff console side by side.

Against the real gateway process (`python -m bot.web`), Rasa and the action server (the lead's
handoff form and action): request handoff, consent, the question; staff log in, take over, and
messages go both ways; "terug naar de assistent" and the assistant answers a FAQ again; the race
on "oppakken"; a gateway restart mid-handoff (both sides reconnect, nothing lost or doubled); an
out-of-hours ticket answered later, after the user left and came back (own stack with closed
hours). The console pages pass axe-core (WCAG 2.1 A/AA), also filled past the viewport at 1280
and 320 px, the long transcript scrolls by keyboard, and stored text renders inert.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService, UserExists
from tests.browser.handoff_helpers import (
    LIVE_MS,
    NARROW,
    PASSWORD,
    WCAG_21_AA,
    WIDE,
    agent_messages,
    ask,
    assert_scroll_regions_reachable,
    bot_bubbles,
    closed_hours_spec,
    console_messages,
    count_text,
    expect_bot,
    gateway_for,
    handoff_bar,
    open_ticket_from_queue,
    open_widget,
    page_overflow,
    request_handoff,
    staff_login,
    staff_reply,
)
from tests.browser.widget_helpers import ANSWER_TIMEOUT_MS, poll, sender_id, tracker_events
from tests.fixtures.handoff import active_ticket

Q_START = "Vanaf wanneer kon je aanvragen?"
A_START = "7 juli 2025"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
STAFF = {
    "bea": ("Bea Beheer", "beheerder"),
    "mo": ("Mo Medewerker", "medewerker"),
    "sam": ("Sam Collega", "medewerker"),
}


def append_tracker_events(rasa_stack, sender: str, events: list[dict]) -> None:
    url = f"{rasa_stack.url_for(sender)}/conversations/{sender}/tracker/events?token={rasa_stack.settings.rasa_token}"
    req = urllib.request.Request(
        url, data=json.dumps(events).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=20) as resp:
        assert resp.status == 200


def _accounts(database_url: str) -> None:
    staff = StaffService(database_url)
    for username, (name, role) in STAFF.items():
        try:
            staff.create_user(username, name, PASSWORD, role)
        except UserExists:
            staff.set_password(username, PASSWORD)


@pytest.fixture(scope="module")
def accounts(rasa_stack):
    _accounts(rasa_stack.settings.database_url)
    return STAFF


@pytest.fixture(scope="module")
def tickets(rasa_stack) -> HandoffService:
    return HandoffService.from_settings(rasa_stack.settings)


@pytest.fixture
def new_page(browser):
    """Pages in separate browser contexts (separate cookies and sessionStorage)."""
    contexts = []

    def make():
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def no_axe_violations(page, what: str) -> None:
    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


# -- console pages: accessibility, stored text -------------------------------------------------


def test_console_pages_are_accessible_and_render_stored_text_inert(new_page, gateway, accounts, tickets):
    question = "Krijgt mijn wijk ook geld voor groen?"
    conversation = "browser-a11y-" + str(time.time_ns())
    t = tickets.create_ticket(
        conversation,
        question,
        gemeente="Rotterdam",
        transcript=[
            ("gebruiker", "Welke gebieden doen mee?", None),
            ("assistent", "Er doen **20 gebieden** mee.", None),
            ("gebruiker", f"Mijn vraag {XSS}", None),
        ],
    )
    # The console reads an answer's sources as data from Rasa's tracker (bot/core/reply.py).
    append_tracker_events(
        gateway.rasa_stack,
        conversation,
        [
            {
                "event": "bot",
                "text": "Er doen **20 gebieden** mee.",
                "data": {
                    "custom": {
                        "kw_sources": [{"title": "Regeling SPUK Kansrijke Wijk", "url": "https://wetten.overheid.nl/"}]
                    }
                },
            }
        ],
    )
    tickets.add_note(
        t.id, StaffService(gateway.rasa_stack.settings.database_url).get_by_username("sam"), f"Notitie {XSS}"
    )
    tickets.save_canned_reply("Openingstijden", "De helpdesk is er op werkdagen van 9:00 tot 17:00.")
    page = new_page()
    page.goto(gateway.url + "/helpdesk")
    expect(page.get_by_role("heading", name="Inloggen bij de helpdesk")).to_be_visible()
    no_axe_violations(page, "console login")
    page.get_by_label("Gebruikersnaam").fill("bea")
    page.get_by_label("Wachtwoord").fill("verkeerd-wachtwoord")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("alert")).to_contain_text("Inloggen is niet gelukt")
    no_axe_violations(page, "console login with error")

    staff_login(page, gateway.url, "bea")
    expect(page.get_by_role("link", name=f"Bekijken: {question}")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Deze pagina wordt live bijgewerkt.")
    no_axe_violations(page, "console queue")

    open_ticket_from_queue(page, question)
    expect(page.get_by_text("gecontroleerd via het portaal")).to_be_visible()
    expect(page.get_by_role("link", name="Regeling SPUK Kansrijke Wijk")).to_have_attribute(
        "href", "https://wetten.overheid.nl/"
    )
    expect(console_messages(page).filter(has_text="Mijn vraag <img src=x")).to_be_visible()
    expect(page.locator("#notities")).to_contain_text("Notitie <img src=x")
    # A message that arrives while the page is open comes as a server fragment (escaped by Jinja2).
    tickets.add_message(t.id, "gebruiker", None, f"Later {XSS}")
    expect(console_messages(page).filter(has_text="Later <img src=x")).to_be_visible(timeout=LIVE_MS)
    assert page.evaluate("() => document.querySelectorAll('main img, main script').length") == 0
    assert page.evaluate("() => window.__xss === undefined") and page.dialogs == []
    no_axe_violations(page, "console ticket (waiting)")

    page.get_by_role("button", name="Oppakken").click()
    expect(page.get_by_role("status").filter(has_text="Je hebt het gesprek overgenomen")).to_be_visible()
    page.get_by_label("Standaardantwoord").select_option(label="Openingstijden")
    page.get_by_role("button", name="Invoegen").click()
    expect(page.get_by_label("Je bericht aan de gebruiker")).to_have_value(
        "De helpdesk is er op werkdagen van 9:00 tot 17:00."
    )
    no_axe_violations(page, "console ticket (live, reply form)")
    page.get_by_role("link", name="Standaardantwoorden").click()
    expect(page.get_by_role("heading", name="Standaardantwoorden", exact=True)).to_be_visible()
    no_axe_violations(page, "console canned replies (beheerder)")
    page.get_by_role("link", name="Medewerkers").click()
    no_axe_violations(page, "console staff accounts")
    page.goto(gateway.url + f"/helpdesk/vraag/{t.public_id}")
    page.get_by_role("button", name="Afronden").click()
    expect(page.get_by_text("De vraag is afgerond.")).to_be_visible()


LONG_TRANSCRIPT = 60  # messages: several viewport heights at either width
FILLER_QUESTIONS = 20  # the queue table longer than a 1280 x 800 viewport
FILLER_REPLIES = 12


def accessible_at_both_widths(page, what: str) -> dict[int, list[str]]:
    """axe (WCAG 2.1 A/AA), every scrolling region a named tab stop, no sideways scrolling;
    at 1280 and at 320 px. Returns the scrolling regions' ids per width."""
    regions = {}
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        label = f"{what} at {size['width']} px"
        no_axe_violations(page, label)
        regions[size["width"]] = assert_scroll_regions_reachable(page, label)
        assert page_overflow(page)["sideways"] <= 0, f"{label}: the page scrolls sideways"
    page.set_viewport_size(WIDE)
    return regions


def scroll_top(log) -> int:
    return log.evaluate("el => Math.round(el.scrollTop)")


# Chromium animates keyboard scrolling, and a key pressed while an animation ends can be lost:
# wait until the position fits and has stayed put for a few frames.
_SETTLED_JS = """el => new Promise(done => {
    let last = -1, same = 0, frames = 0;
    const frame = () => {
        if (++frames > 600) { done(); return; }  // the condition held already; never hang here
        if (el.scrollTop === last) { if (++same >= 5) { done(); return; } } else { last = el.scrollTop; same = 0; }
        requestAnimationFrame(frame);
    };
    frame();
})"""


def wait_scrolled(page, log, condition: str) -> None:
    """Wait until the transcript's scroll position fits `condition` and has settled."""
    try:
        page.wait_for_function(
            f"el => {{ const end = el.scrollHeight - el.clientHeight; return {condition}; }}",
            arg=log.element_handle(),
            timeout=5_000,
        )
        log.evaluate(_SETTLED_JS)
    except PlaywrightTimeout:
        where = log.evaluate("""el => ({scrollTop: el.scrollTop, end: el.scrollHeight - el.clientHeight,
                                        focus: document.activeElement.id, width: window.innerWidth})""")
        raise AssertionError(f"transcript not scrolled to `{condition}`: {where}") from None


LONG_QUESTION = "Hoe lang duurt de beoordeling van mijn aanvraag?"
LONG_LINE = "over de aanvraag, de planning van de wijk en de verdeling van het budget."


@pytest.fixture
def long_ticket(tickets):
    """A waiting ticket whose transcript is several viewport heights long."""
    t = tickets.create_ticket(
        "browser-lang-" + str(time.time_ns()),
        LONG_QUESTION,
        gemeente="Utrecht",
        transcript=[
            ("gebruiker" if i % 2 == 0 else "assistent", f"Bericht {i + 1} {LONG_LINE}", None)
            for i in range(LONG_TRANSCRIPT)
        ],
    )
    yield t
    tickets.close(t.id, "systeem", reason="einde browsertest")  # the other tests share the queue


@pytest.fixture
def long_queue_and_replies(tickets):
    """A queue and a list of canned replies, each longer than the viewport."""
    run = str(time.time_ns())
    fillers = [
        tickets.create_ticket(f"browser-rij-{run}-{i}", f"Wachtrijvraag {i + 1} over de subsidie")
        for i in range(FILLER_QUESTIONS)
    ]
    replies = [
        tickets.save_canned_reply(
            f"Voorbeeldantwoord {i + 1:02d}", f"Dit is voorbeeldantwoord {i + 1}. Het gaat " + LONG_LINE
        )
        for i in range(FILLER_REPLIES)
    ]
    yield
    for t in fillers:  # the other tests share this queue and these replies
        tickets.close(t.id, "systeem", reason="einde browsertest")
    for r in replies:
        tickets.delete_canned_reply(r.id)


def open_long_transcript(page, url: str, ticket):
    """Open the long ticket (logged in); returns its transcript, which opens at the latest message."""
    page.goto(url + f"/helpdesk/vraag/{ticket.public_id}")
    expect(console_messages(page)).to_have_count(LONG_TRANSCRIPT)
    log = page.get_by_role("log", name="Gesprek met de gebruiker")
    wait_scrolled(page, log, "end > 0 && el.scrollTop >= end - 1")
    return log


def test_long_console_pages_pass_axe_at_both_widths(new_page, gateway, accounts, long_ticket, long_queue_and_replies):
    page = new_page()
    page.set_viewport_size(WIDE)
    page.goto(gateway.url + "/helpdesk")
    expect(page.get_by_role("heading", name="Inloggen bij de helpdesk")).to_be_visible()
    accessible_at_both_widths(page, "console login")

    staff_login(page, gateway.url, "bea")
    expect(page.get_by_role("link", name=f"Bekijken: Wachtrijvraag {FILLER_QUESTIONS} over")).to_be_visible()
    assert page_overflow(page)["down"] > 0, "the queue should be longer than the viewport"
    accessible_at_both_widths(page, "console queue, long")

    open_long_transcript(page, gateway.url, long_ticket)
    regions = accessible_at_both_widths(page, "console ticket, long transcript")
    assert all("gesprek" in ids for ids in regions.values()), regions  # it really scrolled

    page.get_by_role("link", name="Standaardantwoorden").click()
    expect(page.get_by_role("heading", name=f"Voorbeeldantwoord {FILLER_REPLIES:02d}")).to_be_visible()
    assert page_overflow(page)["down"] > 0, "the canned replies should be longer than the viewport"
    accessible_at_both_widths(page, "console canned replies, long")
    page.get_by_role("link", name="Medewerkers").click()
    expect(page.get_by_role("heading", name="Medewerkers", exact=True)).to_be_visible()
    accessible_at_both_widths(page, "console staff accounts")
    # A new console page belongs in this walk, filled past the viewport. The editors' page
    # (Redactie) has its own walk in test_editors.py, with seeded data and no Rasa.


def test_the_long_transcript_is_reached_and_scrolled_by_keyboard(new_page, gateway, accounts, long_ticket):
    """Tab reaches the transcript, it shows a focus ring, and Home/PageDown/End scroll it inside
    the page, at both widths."""
    page = new_page()
    page.set_viewport_size(WIDE)
    staff_login(page, gateway.url, "bea")
    log = open_long_transcript(page, gateway.url, long_ticket)
    back = page.get_by_role("link", name="Terug naar de wachtrij")
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        assert log.evaluate("el => el.scrollHeight") > size["height"], "transcript shorter than the viewport"
        back.focus()
        for _ in range(5):  # the transcript is the next tab stops away, not behind the whole page
            page.keyboard.press("Tab")
            if log.evaluate("el => el === document.activeElement"):
                break
        expect(log).to_be_focused()
        ring = log.evaluate("""el => { const s = getComputedStyle(el);
            return {visible: el.matches(':focus-visible'), style: s.outlineStyle,
                    width: parseFloat(s.outlineWidth)}; }""")
        assert ring["visible"] and ring["style"] != "none" and ring["width"] >= 2, ring
        page.keyboard.press("Home")
        wait_scrolled(page, log, "el.scrollTop === 0")
        page.keyboard.press("PageDown")
        wait_scrolled(page, log, "el.scrollTop > 0")
        page.keyboard.press("End")
        wait_scrolled(page, log, "el.scrollTop >= end - 1")
        expect(log).to_be_focused()


def test_live_messages_keep_the_readers_place_and_focus(new_page, gateway, accounts, tickets, long_ticket):
    """Reading back (at the top) keeps its place, at the end the transcript follows; the focus
    stays where it was, in the transcript or half-way through a note."""
    page = new_page()
    page.set_viewport_size(WIDE)
    staff_login(page, gateway.url, "bea")
    log = open_long_transcript(page, gateway.url, long_ticket)
    log.focus()
    page.keyboard.press("Home")
    wait_scrolled(page, log, "el.scrollTop === 0")
    tickets.add_message(long_ticket.id, "gebruiker", None, "Nieuw bericht terwijl je terugleest.")
    expect(console_messages(page)).to_have_count(LONG_TRANSCRIPT + 1, timeout=LIVE_MS)
    expect(log).to_be_focused()
    assert scroll_top(log) == 0, "a live message moved the transcript away from where you were reading"

    page.keyboard.press("End")
    wait_scrolled(page, log, "el.scrollTop >= end - 1")
    tickets.add_message(long_ticket.id, "gebruiker", None, "Nieuw bericht aan het eind.")
    expect(console_messages(page)).to_have_count(LONG_TRANSCRIPT + 2, timeout=LIVE_MS)
    wait_scrolled(page, log, "el.scrollTop >= end - 1")
    expect(log).to_be_focused()

    note = page.get_by_label("Nieuwe notitie")
    note.focus()
    page.keyboard.type("Half getypte notitie")
    tickets.add_message(long_ticket.id, "gebruiker", None, "Nog een bericht tijdens het typen.")
    expect(console_messages(page)).to_have_count(LONG_TRANSCRIPT + 3, timeout=LIVE_MS)
    expect(note).to_be_focused()
    expect(note).to_have_value("Half getypte notitie")


# -- the whole flow ------------------------------------------------------------------------------


def test_handoff_both_ways_and_back_to_the_assistant(new_page, gateway, accounts, tickets):
    user = new_page()
    staff = new_page()
    staff_login(staff, gateway.url, "mo")  # the queue is open before the question arrives

    open_widget(user, gateway.url)
    question = "Hoe verdeel ik het budget over twee wijken?"
    said = request_handoff(user, question)
    assert "helpdesk" in said
    expect(handoff_bar(user)).to_contain_text("Je vraag staat klaar voor de helpdesk")
    sid = sender_id(user)
    ticket = tickets.active_ticket_for_conversation(sid)
    assert ticket is not None and ticket.state == "wachtrij" and ticket.question == question

    open_ticket_from_queue(staff, question)  # appeared live in the open queue
    expect(console_messages(staff).filter(has_text="ik wil een medewerker spreken")).to_be_visible()
    staff.get_by_role("button", name="Oppakken").click()
    expect(staff.locator("#ticket-status")).to_have_text("In gesprek (Mo Medewerker)")

    expect(handoff_bar(user)).to_have_text(
        "Je praat nu met Mo Medewerker, medewerker van de helpdesk. Dit is een mens, geen digitale assistent.",
        timeout=LIVE_MS,
    )
    expect_bot(user, "Je praat nu met Mo Medewerker, medewerker van de helpdesk.", timeout=LIVE_MS)

    staff_reply(staff, "Hallo, ik ben Mo. Om welke wijken gaat het?")
    expect(agent_messages(user).filter(has_text="Om welke wijken gaat het?")).to_be_visible(timeout=LIVE_MS)
    expect(agent_messages(user).last.locator(".kw-who")).to_have_text("Medewerker Mo Medewerker")

    ask(user, "Het gaat om Kruiswijk en Zuiderpark.")
    expect(console_messages(staff).filter(has_text="Het gaat om Kruiswijk en Zuiderpark.")).to_be_visible(
        timeout=LIVE_MS
    )
    staff_reply(staff, "Dank je. Je mag het budget zelf verdelen.")
    expect(agent_messages(user).filter(has_text="zelf verdelen")).to_be_visible(timeout=LIVE_MS)

    # Rasa recorded the paused turns and the agent's messages with the name.
    events = tracker_events(gateway.rasa_stack, sid)
    agent_events = [e for e in events if e.get("event") == "bot" and (e.get("metadata") or {}).get("agent")]
    assert [e["metadata"]["agent"] for e in agent_events] == ["Mo Medewerker", "Mo Medewerker"]
    assert any(e.get("event") == "user" and e.get("text") == "Het gaat om Kruiswijk en Zuiderpark." for e in events)

    staff.get_by_role("button", name="Terug naar de assistent").click()
    expect(staff.get_by_text("De vraag is teruggegeven aan de assistent.")).to_be_visible()
    expect_bot(user, "Je praat nu weer met de digitale assistent", timeout=LIVE_MS)
    expect(handoff_bar(user)).to_be_hidden()

    ask(user, Q_START)
    try:
        expect_bot(user, A_START)
    except AssertionError:  # show what Rasa did after the resume
        for e in tracker_events(gateway.rasa_stack, sid)[-12:]:
            print(json.dumps({k: e.get(k) for k in ("event", "text", "name", "policy")})[:200])
        raise
    assert tickets.get_ticket(ticket.id).state == "teruggegeven"

    # Reload: everything once, in order, agent messages with the name.
    user.reload()
    expect_bot(user, A_START)
    for text in (
        "Om welke wijken gaat het?",
        "zelf verdelen",
        "Je praat nu met Mo Medewerker",
        "Je praat nu weer met de digitale assistent",
    ):
        assert count_text(bot_bubbles(user), text) == 1, text
    assert agent_messages(user).count() == 2
    assert count_text(user.locator(".kw-msg--user .kw-bubble"), "Kruiswijk en Zuiderpark") == 1


# -- robustness ----------------------------------------------------------------------------------


def test_race_on_oppakken_exactly_one_wins(new_page, gateway, accounts, tickets):
    question = "Wie pakt deze vraag op?"
    t = tickets.create_ticket("browser-race-" + str(time.time_ns()), question)
    pages = {}
    for username in ("mo", "sam"):
        page = new_page()
        staff_login(page, gateway.url, username)
        page.goto(gateway.url + f"/helpdesk/vraag/{t.public_id}")
        expect(page.get_by_role("button", name="Oppakken")).to_be_visible()
        pages[username] = page
    # Both click at the same moment (a timer in each page, same browser clock).
    at = pages["mo"].evaluate("() => Date.now() + 400")
    for page in pages.values():
        page.evaluate("at => setTimeout(() => document.getElementById('oppakken').click(), at - Date.now())", at)
    for page in pages.values():
        page.wait_for_url("**melding=**")
    results = {name: page.locator("#melding").inner_text() for name, page in pages.items()}
    winners = [n for n, text in results.items() if text.startswith("Je hebt het gesprek overgenomen")]
    losers = [n for n, text in results.items() if text.startswith("Deze vraag is al opgepakt door")]
    assert len(winners) == 1 and len(losers) == 1, results
    winner_name = STAFF[winners[0]][0]
    assert results[losers[0]] == f"Deze vraag is al opgepakt door {winner_name}."
    ticket = tickets.get_ticket(t.id)
    assert ticket.state == "live" and ticket.assigned_name == winner_name
    claims = [e for e in tickets.events(t.id) if e.to_state == "opgepakt"]
    assert len(claims) == 1
    expect(pages[losers[0]].locator("#antwoord-form")).to_have_count(0)


def test_gateway_restart_mid_handoff_loses_and_doubles_nothing(new_page, gateway, accounts, tickets):
    user = new_page()
    staff = new_page()
    open_widget(user, gateway.url)
    question = "Kan ik de aanvraag nog wijzigen?"
    request_handoff(user, question)
    staff_login(staff, gateway.url, "sam")
    open_ticket_from_queue(staff, question)
    staff.get_by_role("button", name="Oppakken").click()
    expect(handoff_bar(user)).to_contain_text("Je praat nu met Sam Collega", timeout=LIVE_MS)
    staff_reply(staff, "Eerste bericht voor de herstart.")
    expect(agent_messages(user).filter(has_text="Eerste bericht voor de herstart.")).to_be_visible(timeout=LIVE_MS)

    gateway.stop()
    expect(user.get_by_text("Verbinding herstellen")).to_be_visible(timeout=LIVE_MS)
    expect(staff.locator("#live-status")).to_have_text("Verbinding herstellen\u2026", timeout=LIVE_MS)
    ask(user, "Dit typ ik tijdens de storing.")  # waits in the widget's outbox
    gateway.start()

    expect(console_messages(staff).filter(has_text="Dit typ ik tijdens de storing.")).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )
    expect(staff.locator("#live-status")).to_have_text("Deze pagina wordt live bijgewerkt.", timeout=LIVE_MS)
    staff_reply(staff, "Tweede bericht na de herstart.")
    expect(agent_messages(user).filter(has_text="Tweede bericht na de herstart.")).to_be_visible(timeout=LIVE_MS)

    def once_everywhere() -> bool:
        return (
            count_text(console_messages(staff), "Dit typ ik tijdens de storing.") == 1
            and count_text(bot_bubbles(user), "Eerste bericht voor de herstart.") == 1
            and count_text(bot_bubbles(user), "Tweede bericht na de herstart.") == 1
            and count_text(user.locator(".kw-msg--user .kw-bubble"), "Dit typ ik tijdens de storing.") == 1
        )

    poll(once_everywhere, 10, "each message once on both sides")
    ticket = tickets.active_ticket_for_conversation(sender_id(user))
    texts = [m.text for m in tickets.messages_after(ticket.id)]
    assert texts.count("Dit typ ik tijdens de storing.") == 1
    assert texts.count("Eerste bericht voor de herstart.") == 1 and texts.count("Tweede bericht na de herstart.") == 1
    # The staff page after a reload, and the widget after a reload: the same, once each.
    staff.reload()
    assert count_text(console_messages(staff), "Dit typ ik tijdens de storing.") == 1
    user.reload()
    expect(agent_messages(user).filter(has_text="Tweede bericht na de herstart.")).to_be_visible()
    assert count_text(bot_bubbles(user), "Eerste bericht voor de herstart.") == 1
    expect(handoff_bar(user)).to_contain_text("Je praat nu met Sam Collega")
    staff.get_by_role("button", name="Afronden").click()
    expect_bot(user, "De medewerker heeft je vraag afgerond", timeout=LIVE_MS)


# -- out of hours (own stack: the action server reads the opening hours at start) --------------------


@pytest.fixture(scope="module")
def closed_gateway(tmp_path_factory):
    from tests.conftest import start_stack

    hours = closed_hours_spec()
    stack = start_stack(tmp_path_factory.mktemp("var-gesloten"), {"KW_HELPDESK_HOURS": hours})
    _accounts(stack.settings.database_url)
    proc = gateway_for(stack, tmp_path_factory.mktemp("gateway-gesloten"))
    yield proc
    proc.stop()
    stack.stack.stop()


def test_out_of_hours_ticket_is_answered_when_the_user_returns(new_page, closed_gateway):
    gw = closed_gateway
    user = new_page()
    open_widget(user, gw.url)
    question = "Wanneer hoor ik iets over mijn aanvraag?"
    said = request_handoff(user, question, contact="aanvrager@gemeente.nl")
    assert "De helpdesk is nu gesloten" in said and "We beantwoorden je vraag vanaf" in said, said
    expect(handoff_bar(user)).to_contain_text("Je vraag staat klaar voor de helpdesk")
    sid = sender_id(user)
    # The contact reached the ticket (encrypted) although Rasa only saw it masked.
    contacts = HandoffService.from_settings(gw.rasa_stack.settings)
    boss = StaffService.from_settings(gw.rasa_stack.settings).create_user(
        "contactbaas", "Bea Beheer", "correct horse battery", "beheerder"
    )
    poll(
        lambda: contacts.contact_for(active_ticket(contacts, sid), boss) == "aanvrager@gemeente.nl",
        10,
        "the contact on the ticket",
    )
    assert "aanvrager@gemeente.nl" not in str(tracker_events(gw.rasa_stack, sid))
    # The user leaves the site (the ticket stays).
    user.goto("about:blank")

    staff = new_page()
    staff_login(staff, gw.url, "mo")
    expect(staff.locator("#open-status")).to_contain_text("De helpdesk is nu gesloten")
    open_ticket_from_queue(staff, question)
    staff.get_by_role("button", name="Oppakken").click()
    staff_reply(staff, "Goedemorgen, je hoort binnen twee weken van ons.")
    tickets = HandoffService.from_settings(gw.rasa_stack.settings)
    assert active_ticket(tickets, sid).state == "live"

    # Back on the site in the same tab: the widget shows the answer and who wrote it.
    user.goto(gw.url + "/")
    expect(agent_messages(user).filter(has_text="binnen twee weken")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(handoff_bar(user)).to_contain_text("Je praat nu met Mo Medewerker")
    assert sender_id(user) == sid
