"""The console's answer by e-mail, in the gateway (create_app) with its outbox worker, against a
real SMTP server process (tests/fixtures/smtp.py) and the fake Rasa of conftest.py.

A medewerker previews the mail (greeting, the question, the answer, signature, reference; never
the transcript), sends it and closes the ticket with it: the mail is stored first, the worker
sends it once, the history shows it, the transcript and the applicant's chat get the answer.
Canned replies go into the text; bad input (empty, too long, injected HTML, forged ids and keys,
no CSRF, a ticket without an e-mail address) gets a Dutch notice and stores nothing.
"""

from __future__ import annotations

import html

import pytest
import pytest_asyncio

from bot.handoff.mails import ticket_reference
from tests.fixtures.gateway import poll_async
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.text import match
from tests.integration.test_console import PASSWORD, Console

pytestmark = pytest.mark.asyncio

APPLICANT = "aanvrager@voorbeeld.nl"
QUESTION = "Mag ik het geld ook in 2029 uitgeven?"
INJECTED = '<script>alert("x")</script><img src=x onerror="alert(1)">'


@pytest.fixture
def smtp_server(tmp_path):
    server = SmtpServer(tmp_path / "smtp").start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def console(start_gateway, fake_rasa, smtp_server):
    from bot.web.console import prepare_database

    client = await start_gateway(
        KW_HELPDESK_HOURS="ma-zo 00:00-24:00",
        KW_HELPDESK_NAME="Helpdesk Kansrijke Wijk",
        **smtp_server.settings(KW_SMTP_POLL_S="0.2", KW_SMTP_RETRY_S="0.3"),
    )
    prepare_database(client.settings)
    c = Console(client, client.settings, fake_rasa)
    c.staff.create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    c.staff.create_user("sam", "Sam Collega", PASSWORD, "medewerker")
    return c


def mail_key(page: str) -> str:
    return match(r'name="sleutel" value="([^"]+)"', page).group(1)


async def test_preview_send_and_close_one_mail_with_its_history(console, smtp_server):
    csrf = await console.login("mo")
    ticket = console.ticket(
        "gesprek-mail",
        QUESTION,
        contact=APPLICANT,
        transcript=[("gebruiker", "Transcriptregel-UNIEK", None), ("assistent", "Antwoord-UNIEK", None)],
    )
    path = f"/helpdesk/vraag/{ticket.public_id}"
    page = await (await console.client.get(path)).text()
    assert "Antwoorden per e-mail" in page and "a•••@v•••.nl" in page
    key = mail_key(page)
    answer = f"Nee, het geld is voor 2026 tot en met 2028. {INJECTED}"

    # The preview: the mail as it will be sent, escaped; nothing stored yet.
    data = {"csrf": csrf, "sleutel": key, "tekst": answer, "afronden": "ja", "actie": "voorbeeld"}
    resp = await console.post(f"{path}/mail", data)
    preview = await resp.text()
    assert resp.status == 200, preview
    reference = ticket_reference(ticket.public_id)
    assert "Voorbeeld van de e-mail" in preview and f"Antwoord op je vraag ({reference})" in preview
    for part in ("Hallo,", QUESTION, "Met vriendelijke groet,", "Mo Medewerker", f"Kenmerk: {reference}"):
        assert html.escape(part, quote=False) in preview or part in preview
    assert "<script>alert" not in preview and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in preview
    assert "UNIEK" not in preview.split('id="mail-voorbeeld"', 1)[1].split("</section>", 1)[0]
    assert console.tickets.mails_for_ticket(ticket.id) == []

    # Send (and close): stored first, then sent once by the worker.
    resp = await console.post(f"{path}/mail", {**data, "actie": "versturen"})
    assert resp.status == 303 and resp.headers["Location"].endswith("melding=mail_wacht_afgerond")
    again = await console.post(f"{path}/mail", {**data, "actie": "versturen"})  # a resent form
    assert again.status == 303
    [mail] = console.tickets.mails_for_ticket(ticket.id)
    assert mail.author == "Mo Medewerker" and mail.recipient_masked == "a•••@v•••.nl"
    after = console.tickets.get_ticket(ticket.id)
    assert after.state == "afgerond" and after.assigned_name == "Mo Medewerker"
    await poll_async(lambda: console.tickets.mail(mail.id).status == "verstuurd", 15, "the mail sent")
    [received] = smtp_server.received()
    assert received["Message-ID"] == mail.message_id and received["To"].addresses[0].addr_spec == APPLICANT
    body = received.get_body(("plain",)).get_content()
    assert "Nee, het geld is voor 2026 tot en met 2028." in body and QUESTION in body and "UNIEK" not in body

    # /metrics says so (read from the outbox at scrape time, and the worker's counter).
    scrape = await (await console.client.get("/metrics")).text()
    assert 'kw_mail_outbox{status="verstuurd"} 1.0' in scrape and 'kw_mail_sent_total{kind="antwoord"} 1.0' in scrape
    assert APPLICANT not in scrape

    # The history shows it; the transcript has the answer; the chat got it with the agent's name.
    page = await (await console.client.get(path)).text()
    history = page.split('id="mail-geschiedenis"', 1)[1].split("</ol>", 1)[0]
    assert "e-mail aan a•••@v•••.nl, door Mo Medewerker" in history and "verstuurd" in history
    assert any(m.sender == "medewerker" and m.text == answer for m in console.tickets.messages_after(ticket.id))
    chat = [e for e in console.rasa.trackers[ticket.conversation_id] if e.get("event") == "bot"]
    said = [e for e in chat if e.get("metadata", {}).get("handoff_id") == f"h-{ticket.public_id}-mail-{mail.id}"]
    assert len(said) == 1 and said[0]["text"] == answer and said[0]["metadata"]["agent"] == "Mo Medewerker"


async def test_canned_reply_goes_into_the_mail_text(console):
    csrf = await console.login("mo")
    console.tickets.save_canned_reply("Termijn", "Je hoort binnen twee weken van ons.")
    [canned] = console.tickets.canned_replies()
    ticket = console.ticket("gesprek-canned", QUESTION, contact=APPLICANT)
    path = f"/helpdesk/vraag/{ticket.public_id}"
    key = mail_key(await (await console.client.get(path)).text())
    form = {"csrf": csrf, "sleutel": key, "tekst": "Dank je.", "standaard": str(canned.id), "actie": "invoegen"}
    resp = await console.post(f"{path}/mail", form)
    page = await resp.text()
    assert resp.status == 200
    textarea = match(r'<textarea id="mail-tekst"[^>]*>([^<]*)</textarea>', page).group(1)
    assert html.unescape(textarea) == "Dank je.\n\nJe hoort binnen twee weken van ons."
    assert mail_key(page) == key and console.tickets.mails_for_ticket(ticket.id) == []


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"tekst": "   "}, 400, "Je bericht is leeg"),
        ({"tekst": "\x00\x01\x7f"}, 400, "Je bericht is leeg"),  # binary: nothing readable
        ({"tekst": "x" * 4001}, 400, "Je tekst is te lang"),
        ({"tekst": "Antwoord", "sleutel": "<script>"}, 303, None),  # a forged key: a fresh one
    ],
)
async def test_bad_input_gets_a_dutch_notice_and_keeps_the_text(console, data, status, says):
    csrf = await console.login("mo")
    ticket = console.ticket("gesprek-fout", QUESTION, contact=APPLICANT)
    path = f"/helpdesk/vraag/{ticket.public_id}"
    resp = await console.post(f"{path}/mail", {"csrf": csrf, "actie": "versturen", **data})
    assert resp.status == status
    if says:
        page = await resp.text()
        assert says in page and console.tickets.mails_for_ticket(ticket.id) == []
        if data["tekst"].isprintable() and data["tekst"].strip():
            assert data["tekst"] in page  # the text is kept
    else:
        assert len(console.tickets.mails_for_ticket(ticket.id)) == 1


async def test_no_address_no_csrf_forged_ids_and_a_colleague_store_nothing(console):
    csrf = await console.login("mo")
    phone = console.ticket("gesprek-telefoon", QUESTION, contact="0612345678")
    path = f"/helpdesk/vraag/{phone.public_id}"
    page = await (await console.client.get(path)).text()
    assert 'id="mail-form"' not in page and "geen e-mailadres" in page
    resp = await console.post(f"{path}/mail", {"csrf": csrf, "tekst": "Antwoord", "actie": "versturen"})
    assert resp.status == 409 and "geen e-mailadres achtergelaten" in await resp.text()
    assert console.tickets.get_ticket(phone.id).state == "wachtrij"  # still waiting for a colleague

    ticket = console.ticket("gesprek-csrf", QUESTION, contact=APPLICANT)
    path = f"/helpdesk/vraag/{ticket.public_id}"
    resp = await console.post(f"{path}/mail", {"tekst": "Antwoord", "actie": "versturen"})
    assert resp.status == 403
    resp = await console.post("/helpdesk/vraag/bestaat-niet/mail", {"csrf": csrf, "tekst": "A", "actie": "versturen"})
    assert resp.status == 404
    resp = await console.post(f"{path}/mail/999999/opnieuw", {"csrf": csrf})
    assert resp.status == 303 and resp.headers["Location"].endswith("melding=kan_niet")
    assert console.tickets.mails_for_ticket(ticket.id) == []

    # A colleague's ticket: refused, nothing stored.
    sam = console.staff.get_by_username("sam")
    assert sam is not None
    console.tickets.claim(ticket, sam)
    resp = await console.post(f"{path}/mail", {"csrf": csrf, "tekst": "Antwoord", "actie": "versturen"})
    assert resp.status == 303 and resp.headers["Location"].endswith("melding=collega")
    assert console.tickets.mails_for_ticket(ticket.id) == []
    page = await (await console.client.get(path)).text()
    assert 'id="mail-form"' not in page  # no form on a colleague's ticket
