"""Answering a waiting ticket by e-mail in a real browser, against a real gateway process
(`python -m bot.web`, its outbox worker included) and a real SMTP server process with STARTTLS
(tests/fixtures/smtp.py).

Without Rasa (the fake Rasa of tests/integration/conftest.py, in a thread, as in
test_console_live.py): a medewerker opens a waiting ticket, inserts a canned reply, previews the
mail, sends it and closes the ticket; while the mail server is down the history says the mail
waits and why, then, with the server back, that it was sent, without a page load; the server
got one well-formed mail. axe finds nothing on the new parts (form, preview, history, the queue's
failed-mail list) at 1280 and 320 px. With the real Rasa stack: the applicant's open chat shows
the same answer (test_the_applicants_open_chat_shows_the_mailed_answer).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from bot import settings as settings_mod
from bot.handoff.mails import ticket_reference
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from tests.browser.handoff_helpers import (
    LIVE_MS,
    NARROW,
    PASSWORD,
    WCAG_21_AA,
    WIDE,
    agent_messages,
    assert_scroll_regions_reachable,
    open_widget,
    page_overflow,
    request_handoff,
    staff_login,
)
from tests.browser.test_console_live import FakeRasaThread
from tests.browser.widget_helpers import ANSWER_TIMEOUT_MS, ROOT, sender_id
from tests.fixtures.databases import TEST_CONTACT_KEY
from tests.fixtures.gateway import GatewayProcess, free_port, gateway_for, poll
from tests.fixtures.handoff import active_ticket
from tests.fixtures.smtp import SmtpServer
from tests.integration.conftest import COOKIE_SECRET, RASA_TOKEN

APPLICANT = "aanvrager@voorbeeld.nl"
QUESTION = "Tot wanneer mag ik het geld uitgeven?"
CANNED = ("Looptijd", "Je mag het geld uitgeven tot en met 2028.")


def accessible_at_both_widths(page, what: str) -> None:
    """axe (WCAG 2.1 A/AA), scrolling regions reachable, no sideways scrolling; 1280 and 320 px."""
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        label = f"{what} at {size['width']} px"
        results = Axe().run(page, options=WCAG_21_AA)
        assert results.violations_count == 0, f"{label}:\n{results.generate_report()}"
        assert_scroll_regions_reachable(page, label)
        assert page_overflow(page)["sideways"] <= 0, f"{label}: the page scrolls sideways"
    page.set_viewport_size(WIDE)


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory):
    """Gateway process (with its outbox worker) + fake Rasa + the SMTP server, not yet started."""
    var = tmp_path_factory.mktemp("mail-answer")
    rasa = FakeRasaThread().start()
    server = SmtpServer(var / "smtp")
    env: dict[str, str] = {
        "KW_VAR_DIR": str(var),
        "KW_DATABASE_URL": f"sqlite:///{var / 'app.db'}",
        "KW_RASA_TOKEN": RASA_TOKEN,
        "KW_COOKIE_SECRET": COOKIE_SECRET,
        "KW_CONTACT_KEY": TEST_CONTACT_KEY,
        "KW_RASA_PORT": str(rasa.port),
        "KW_RASA_WORKERS": "1",
        "KW_ACTIONS_PORT": str(rasa.port),
        "KW_HELPDESK_HOURS": "ma-zo 00:00-24:00",
        "KW_HELPDESK_POLL_S": "0.5",
        "KW_GATEWAY_HOST": "127.0.0.1",
        "KW_GATEWAY_PORT": str(free_port()),
        **server.settings(KW_SMTP_POLL_S="0.3", KW_SMTP_RETRY_S="1", KW_SMTP_TIMEOUT_S="5"),
    }
    settings = settings_mod.load(env)
    full = {k: v for k, v in os.environ.items() if not k.startswith("KW_")}
    full.update(env, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    gateway = GatewayProcess(full, Path(var) / "gateway.log")
    gateway.start()
    StaffService.from_settings(settings).create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    tickets = HandoffService.from_settings(settings)
    tickets.save_canned_reply(*CANNED)
    try:
        yield gateway, tickets, server
    finally:
        gateway.stop()
        server.stop()
        rasa.stop()


@pytest.fixture
def staff_page(browser):
    ctx = browser.new_context(viewport=WIDE, locale="nl-NL")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    yield page
    ctx.close()


def history(page):
    return page.locator("#mail-geschiedenis > li")


def test_a_medewerker_answers_a_waiting_ticket_by_email(staff_page, mail_stack):
    gateway, tickets, server = mail_stack
    ticket = tickets.create_ticket(
        "browser-mail",
        QUESTION,
        contact=APPLICANT,
        transcript=[("gebruiker", "Transcriptregel-UNIEK", None), ("assistent", "Assistentregel-UNIEK", None)],
    )
    page = staff_page
    staff_login(page, gateway.url, "mo")
    page.goto(f"{gateway.url}/helpdesk/vraag/{ticket.public_id}")
    form = page.locator("#mail-form")
    expect(page.get_by_role("heading", name="Antwoorden per e-mail")).to_be_visible()
    accessible_at_both_widths(page, "ticket page with the mail form")

    # A canned reply, a line of one's own, the preview.
    form.get_by_label("Standaardantwoord").select_option(label=CANNED[0])
    form.get_by_role("button", name="Invoegen").click()
    text = page.get_by_label("Je antwoord per e-mail")
    expect(text).to_have_value(CANNED[1])
    text.fill(CANNED[1] + "\nMet ‘groen’ in de wijk kan dat zeker.")
    page.get_by_label("Vraag afronden na het versturen").check()
    page.get_by_role("button", name="Voorbeeld bekijken").click()
    preview = page.locator("#mail-voorbeeld")
    reference = ticket_reference(ticket.public_id)
    expect(preview).to_contain_text(f"Antwoord op je vraag ({reference})")
    expect(preview).to_contain_text("a•••@v•••.nl")
    for part in ("Hallo,", QUESTION, CANNED[1], "Mo Medewerker", f"Kenmerk: {reference}"):
        expect(preview.locator(".c-mailtext")).to_contain_text(part)
    expect(preview).not_to_contain_text("UNIEK")
    assert tickets.mails_for_ticket(ticket.id) == []  # a preview stores nothing
    accessible_at_both_widths(page, "ticket page with the mail preview")

    # Sent while the mail server is down: it waits, and the history says why.
    page.get_by_role("button", name="E-mail versturen en vraag afronden").click()
    expect(page.locator("#melding")).to_contain_text("De vraag is afgerond")
    expect(history(page)).to_have_count(1)
    expect(history(page).first).to_contain_text("De mailserver is niet bereikbaar.", timeout=LIVE_MS)
    expect(history(page).first).to_contain_text("wacht")
    assert tickets.get_ticket(ticket.id).state == "afgerond"
    page.goto(f"{gateway.url}/helpdesk/wachtrij")
    expect(page.get_by_role("heading", name="E-mails die niet zijn verstuurd (1)")).to_be_visible()
    accessible_at_both_widths(page, "queue with a mail that waits")
    page.get_by_role("link", name="E-mail aan a•••@v•••.nl").click()

    # The server returns: the mail is sent once, and the open page says so without a reload.
    server.start()
    expect(history(page).first).to_contain_text("verstuurd om", timeout=LIVE_MS)
    accessible_at_both_widths(page, "ticket page with the mail's history")
    [mail] = tickets.mails_for_ticket(ticket.id)
    assert (mail.status, mail.attempts) == ("verstuurd", 2)
    [received] = server.received()
    assert received["Message-ID"] == mail.message_id
    assert received["To"].addresses[0].addr_spec == APPLICANT
    assert received.get_content_type() == "multipart/alternative"
    body = received.get_body(("plain",)).get_content()
    assert CANNED[1] in body and "‘groen’" in body and QUESTION in body and "UNIEK" not in body
    assert server.sessions() == [{"tls": True, "auth": True}]
    assert page.problems == []


# -- with the real Rasa stack: the applicant's open chat ---------------------------------------


@pytest.fixture(scope="module")
def rasa_mail_gateway(rasa_stack, tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp-rasa")).start()
    proc = gateway_for(
        rasa_stack,
        tmp_path_factory.mktemp("gateway-mail"),
        KW_RATE_LIMIT_PER_MINUTE="600",
        **server.settings(KW_SMTP_POLL_S="0.3"),
    )
    StaffService.from_settings(rasa_stack.settings).create_user("mailer", "Mo Medewerker", PASSWORD, "medewerker")
    yield proc, server
    proc.stop()
    server.stop()


def test_the_applicants_open_chat_shows_the_mailed_answer(browser, rasa_mail_gateway):
    gateway, server = rasa_mail_gateway
    contexts = [browser.new_context(viewport=WIDE, locale="nl-NL") for _ in range(2)]
    try:
        user, staff = (ctx.new_page() for ctx in contexts)
        open_widget(user, gateway.url)
        request_handoff(user, QUESTION, contact=APPLICANT)
        sid = sender_id(user)
        tickets = HandoffService.from_settings(gateway.rasa_stack.settings)
        ticket = poll(lambda: tickets.active_ticket_for_conversation(sid), 10, "the ticket")
        staff_login(staff, gateway.url, "mailer")
        staff.goto(f"{gateway.url}/helpdesk/vraag/{ticket.public_id}")
        staff.get_by_label("Je antwoord per e-mail").fill("Tot en met 2028. Je krijgt dit ook per e-mail.")
        staff.get_by_role("button", name="Voorbeeld bekijken").click()
        staff.get_by_role("button", name="E-mail versturen").click()
        expect(staff.locator("#mail-geschiedenis > li").first).to_contain_text("verstuurd om", timeout=LIVE_MS)
        # The applicant, still in the chat, reads the same answer with the medewerker's name.
        answer = agent_messages(user).filter(has_text="Tot en met 2028. Je krijgt dit ook per e-mail.")
        expect(answer).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
        expect(answer).to_contain_text("Mo Medewerker")
        assert active_ticket(tickets, sid).state == "opgepakt"
        [received] = server.received()
        assert received["To"].addresses[0].addr_spec == APPLICANT
        assert "Tot en met 2028." in received.get_body(("plain",)).get_content()
    finally:
        for ctx in contexts:
            ctx.close()
