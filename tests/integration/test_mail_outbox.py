"""The helpdesk's outbox against a real SMTP server process (tests/fixtures/smtp_server.py:
aiosmtpd, STARTTLS required with a certificate made by the test, a login required).

A mail is stored first (the address encrypted), then sent by the worker once: the server gets one
well-formed mail (MIME, UTF-8 headers, text + HTML, the stored Message-ID, no personal data but
the recipient). With the server down the mail waits and is sent when it returns; a server killed
in the middle of a mail, and a gateway killed in the middle of sending one, lead to exactly one
mail, sent again under the same Message-ID. A refused address fails for good at once. The
figures reach the gateway's metrics.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import launcher, migrations
from bot.core import db
from bot.core.clock import utcnow
from bot.handoff.hours import OpeningHours
from bot.handoff.mailer import OutboxWorker
from bot.handoff.mails import ticket_reference
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService, StaffView
from bot.mail.compose import new_message_id
from bot.settings import Settings, load
from bot.web.metrics import GatewayMetrics
from tests.fixtures.databases import TEST_CONTACT_KEY, make_status_settings
from tests.fixtures.gateway import GatewayProcess, poll, poll_async
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.asyncio

APPLICANT = "aanvrager.zoe@voorbeeld.nl"
PASSWORD = "een-lang-wachtwoord-voor-de-test"
QUESTION = "Krijgt mijn wijk geld voor groen? Mijn BSN is 111222333."
ANSWER = "Ja, dat kan. Groen in de wijk past bij het thema ‘leefomgeving’.\nKijk ook op de website van je gemeente."
TRANSCRIPT = [
    ("gebruiker", "Transcriptregel-UNIEK met mijn IBAN NL91ABNA0417164300", None),
    ("assistent", "Assistentregel-UNIEK over de regeling", None),
]
#: A helpdesk name with non-ASCII characters: the From header must carry it RFC 2047-encoded.
HELPDESK = "Helpdesk Kansrijke Wijk – Zoë’s team"
ADDRESS_RE = re.compile(rb"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture
def smtp_server(tmp_path):
    server = SmtpServer(tmp_path / "smtp")
    yield server
    server.stop()


def settings_for(url: str, tmp_path: Path, server: SmtpServer, **extra: str) -> Settings:
    return make_status_settings(
        url, tmp_path, **server.settings(KW_HELPDESK_NAME=HELPDESK, KW_SMTP_RETRY_S="0.3", **extra)
    )


def waiting_ticket(settings: Settings, conversation: str = "conv-mail", contact: str = APPLICANT):
    service = HandoffService.from_settings(settings)
    staff = StaffService.from_settings(settings).create_user("mo", "Mo Medewerker", PASSWORD, "medewerker")
    ticket = service.create_ticket(conversation, QUESTION, contact=contact, transcript=TRANSCRIPT)
    return service, staff, ticket


def queue(service: HandoffService, settings: Settings, ticket, staff: StaffView, key: str = "formulier-1"):
    return service.queue_answer(
        ticket,
        staff,
        ANSWER,
        key,
        helpdesk=settings.mail.helpdesk_name,
        message_id=new_message_id(settings.mail.sender),
    )


def worker_for(service: HandoffService, settings: Settings, metrics: GatewayMetrics | None = None) -> OutboxWorker:
    return OutboxWorker(
        service, settings.mail, OpeningHours.from_settings(settings), db_timeout_s=10.0, metrics=metrics
    )


def stored_row(url: str, mail_id: int) -> dict:
    engine = db.make_engine(url, 10.0)
    try:
        with engine.connect() as conn:
            return dict(
                conn.execute(text("SELECT * FROM handoff_outbox WHERE id = :i"), {"i": mail_id}).mappings().one()
            )
    finally:
        engine.dispose()


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_an_answer_is_stored_first_then_sent_once_well_formed_over_starttls(url, tmp_path, smtp_server):
    settings = settings_for(url, tmp_path, smtp_server)
    service, staff, ticket = waiting_ticket(settings)
    mail, new = queue(service, settings, ticket, staff)
    assert new and mail.status == "wacht" and mail.attempts == 0
    # Stored first: the address only encrypted, shown masked; the body is what the preview showed.
    row = stored_row(url, mail.id)
    assert APPLICANT not in str(row) and row["recipient_masked"] == "a•••@v•••.nl"
    assert "[BSN]" in row["body_text"] and "111222333" not in row["body_text"]
    # The same form again (a double click) stores nothing new.
    again, new_again = queue(service, settings, ticket, staff)
    assert (again.id, new_again) == (mail.id, False)

    smtp_server.start()
    metrics = GatewayMetrics()
    worker = worker_for(service, settings, metrics)
    assert await worker.send_next()
    assert not await worker.send_next()  # nothing else is due: one mail, one attempt
    sent = service.mail(mail.id)
    assert sent is not None and sent.status == "verstuurd" and sent.attempts == 1 and sent.sent_at is not None
    assert smtp_server.sessions() == [{"tls": True, "auth": True}]
    assert sample(metrics, "kw_mail_sent_total", kind="antwoord") == 1

    [msg] = smtp_server.received()
    raw = msg.as_bytes()
    # Headers: ASCII on the wire (UTF-8 as RFC 2047 words), decoded back to the text.
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    head.decode("ascii")
    assert msg["Message-ID"] == mail.message_id
    assert msg["Delivered-To"] == APPLICANT and msg["To"].addresses[0].addr_spec == APPLICANT
    sender = msg["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (HELPDESK, "helpdesk@kansrijkewijk.example")
    reference = ticket_reference(ticket.public_id)
    assert msg["Subject"] == f"Antwoord op je vraag ({reference})"
    assert msg["Date"] and msg["MIME-Version"] == "1.0" and msg["Auto-Submitted"] is None
    # MIME: one alternative of plain text and HTML, both UTF-8.
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = list(msg.iter_parts())
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    body = plain.get_content().replace("\r\n", "\n")
    for part in ("Hallo,", "Je vraag:", "Krijgt mijn wijk geld voor groen? Mijn BSN is [BSN].", "Ons antwoord:"):
        assert part in body
    assert "thema ‘leefomgeving’.\nKijk ook" in body
    assert f"Met vriendelijke groet,\nMo Medewerker\n{HELPDESK}" in body
    assert f"Kenmerk: {reference}" in body
    page = html.get_content().replace("\r\n", "\n")
    assert '<html lang="nl">' in page and "thema ‘leefomgeving’.<br>" in page and f"Kenmerk: {reference}" in page
    # Never the transcript, no personal data: the only addresses are the recipient (in the
    # headers only) and the helpdesk's own; no BSN, no IBAN.
    for secret in (b"UNIEK", b"111222333", b"NL91ABNA", b"IBAN"):
        assert secret not in raw
    without_id = raw.replace(mail.message_id.encode(), b"")
    assert set(ADDRESS_RE.findall(without_id)) == {APPLICANT.encode(), b"helpdesk@kansrijkewijk.example"}
    assert APPLICANT not in body and APPLICANT not in page
    assert re.fullmatch(r"<kw\.[0-9a-f]{32}@kansrijkewijk\.example>", mail.message_id)


async def test_with_the_server_down_the_mail_waits_and_is_sent_once_when_it_returns(url, tmp_path, smtp_server):
    settings = settings_for(url, tmp_path, smtp_server)
    service, staff, ticket = waiting_ticket(settings)
    mail, _ = queue(service, settings, ticket, staff)
    metrics = GatewayMetrics()
    worker = worker_for(service, settings, metrics)

    before = utcnow()
    assert await worker.send_next()  # the server is not there
    waiting = service.mail(mail.id)
    assert waiting is not None and (waiting.status, waiting.attempts) == ("wacht", 1)
    assert waiting.last_error == "De mailserver is niet bereikbaar."
    assert waiting.next_attempt_at > before  # backoff: not tried again at once
    assert not await worker.send_next()
    assert sample(metrics, "kw_mail_send_failures_total", reason="connection", final="no") == 1
    counts = service.outbox_counts()
    assert counts.by_status["wacht"] == 1 and counts.retrying == 1
    metrics.refresh_outbox(counts)
    assert sample(metrics, "kw_mail_outbox", status="wacht") == 1
    assert sample(metrics, "kw_mail_outbox_retrying") == 1
    assert [m.id for m, _ in service.failing_mails()] == [mail.id]  # the console's queue page says so

    smtp_server.start()
    await poll_async(worker.send_next, 15, "the retry after the backoff")
    sent = service.mail(mail.id)
    assert sent is not None and (sent.status, sent.attempts) == ("verstuurd", 2)
    [msg] = smtp_server.received()
    assert msg["Message-ID"] == mail.message_id
    assert service.failing_mails() == []


async def test_a_server_killed_in_the_middle_of_a_mail_gets_it_once_after_it_returns(url, tmp_path, smtp_server):
    settings = settings_for(url, tmp_path, smtp_server)
    service, staff, ticket = waiting_ticket(settings)
    mail, _ = queue(service, settings, ticket, staff)
    worker = worker_for(service, settings)

    smtp_server.start(hold=True)
    sending = asyncio.create_task(worker.send_next())
    await poll_async(lambda: smtp_server.holding() == 1, 20, "the server holding the mail's DATA")
    assert service.mail(mail.id).status == "bezig"
    smtp_server.kill()  # after DATA, before its 250
    assert await sending
    failed = service.mail(mail.id)
    assert failed is not None and (failed.status, failed.attempts) == ("wacht", 1)
    assert failed.last_error in ("De verbinding met de mailserver werd verbroken.", "De mailserver is niet bereikbaar.")
    assert smtp_server.received() == []

    smtp_server.start()  # the same port and Maildir, no hold
    await poll_async(worker.send_next, 15, "the retry")
    sent = service.mail(mail.id)
    assert sent is not None and (sent.status, sent.attempts) == ("verstuurd", 2)
    [msg] = smtp_server.received()
    assert msg["Message-ID"] == mail.message_id
    assert not await worker.send_next()


async def test_a_refused_address_fails_for_good_at_once(url, tmp_path, smtp_server):
    settings = settings_for(url, tmp_path, smtp_server)
    service, staff, ticket = waiting_ticket(settings, contact="bestaat.niet@geweigerd.example")
    mail, _ = queue(service, settings, ticket, staff)
    smtp_server.start()
    metrics = GatewayMetrics()
    worker = worker_for(service, settings, metrics)
    assert await worker.send_next()
    failed = service.mail(mail.id)
    assert failed is not None and (failed.status, failed.attempts) == ("mislukt", 1)
    assert failed.last_error == "De mailserver weigert het e-mailadres (code 550)."
    assert sample(metrics, "kw_mail_send_failures_total", reason="recipient", final="yes") == 1
    assert not await worker.send_next() and smtp_server.received() == []
    assert [m.id for m, _ in service.failing_mails()] == [mail.id]


async def test_a_gateway_killed_mid_send_sends_the_mail_once_after_its_restart(tmp_path, smtp_server):
    """The real gateway's worker: killed (SIGKILL) while the server holds the mail's DATA, the
    mail stays taken until its lease ends; the restarted gateway then sends it once."""
    var = tmp_path / "var"
    env = launcher.isolated_env(
        var,
        {
            "KW_DATABASE_URL": f"sqlite:///{var / 'app.db'}",
            "KW_CONTACT_KEY": TEST_CONTACT_KEY,
            **smtp_server.settings(KW_SMTP_TIMEOUT_S="3", KW_SMTP_POLL_S="0.2", KW_SMTP_RETRY_S="0.3"),
        },
    )
    settings = load(env)
    migrations.upgrade(settings.database_url)
    service, staff, ticket = waiting_ticket(settings)
    mail, _ = queue(service, settings, ticket, staff)

    smtp_server.start(hold=True)
    gateway = GatewayProcess(env, var / "gateway.log")
    gateway.start()
    try:
        await poll_async(lambda: smtp_server.holding() == 1, 30, "the gateway's worker sending")
        gateway.stop(kill=True)
        smtp_server.release()  # later mails are not held; the held one went with its connection
        taken = service.mail(mail.id)
        assert taken is not None and (taken.status, taken.attempts) == ("bezig", 1)
        assert smtp_server.received() == []

        gateway.start()
        # Until the lease ends the mail is the killed worker's: nothing is sent twice meanwhile.
        assert service.mail(mail.id).status == "bezig"
        poll(lambda: service.mail(mail.id).status == "verstuurd", 60, "the mail sent after the restart")
    finally:
        gateway.stop()
    sent = service.mail(mail.id)
    assert sent is not None and sent.attempts == 2
    [msg] = smtp_server.received()
    assert msg["Message-ID"] == mail.message_id
    assert smtp_server.sessions() == [{"tls": True, "auth": True}]


async def test_the_outbox_goes_with_the_retention_and_with_gesprek_wissen(url, tmp_path, smtp_server):
    from bot import retention
    from bot.handoff import mails

    settings = settings_for(url, tmp_path, smtp_server)
    service, staff, ticket = waiting_ticket(settings)
    answer, _ = queue(service, settings, ticket, staff)
    # A notification about another ticket, which still waits.
    other = service.create_ticket("conv-wacht", QUESTION)
    note = service.queue_notification(
        other.id,
        f"nieuw:{other.id}",
        "team@kansrijkewijk.example",
        mails.notification(HELPDESK, "https://kw.example.nl/helpdesk", "KW-1"),
        message_id=new_message_id(settings.mail.sender),
    )
    assert note is not None
    smtp_server.start()
    worker = worker_for(service, settings)
    while await worker.send_next():
        pass
    assert len(smtp_server.received()) == 2
    service.close(ticket, staff)
    later = utcnow() + dt.timedelta(days=settings.retention_days + 1)
    report = retention.purge(settings, now=later.replace(tzinfo=dt.UTC))
    assert (report.tickets, report.mails) == (1, 1)
    assert service.mail(answer.id) is None  # went with its ticket
    assert service.mail(note.id) is None  # sent long ago: purged on its own
    assert service.get_ticket(other.id).state == "wachtrij"

    # "Gesprek wissen": the mails of the conversation's tickets go at once, sent or not.
    sam = StaffService.from_settings(settings).create_user("sam", "Sam", PASSWORD, "medewerker")
    erased = service.create_ticket("conv-wissen", QUESTION, contact=APPLICANT)
    waiting, _ = queue(service, settings, erased, sam, key="formulier-2")
    assert service.erase_conversation("conv-wissen") == 1
    assert service.mail(waiting.id) is None and service.mails_for_ticket(erased.id) == []
