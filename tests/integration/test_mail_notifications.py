"""Notifications to the helpdesk's team mailbox (KW_HELPDESK_MAILBOX), against a real SMTP server
process: a new ticket, and one that waits longer than KW_HELPDESK_NOTIFY_WAIT_MIN while the
helpdesk is open, each once; a short mail with the reference and a console link, nothing the
applicant said or left."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.clock import utcnow
from bot.handoff.hours import OpeningHours
from bot.handoff.mailer import OutboxWorker
from bot.handoff.mails import ticket_reference
from bot.handoff.service import HandoffService
from tests.fixtures.databases import make_status_settings
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.asyncio

TEAM = "helpdesk-team@kansrijkewijk.example"
APPLICANT = "aanvrager@voorbeeld.nl"
QUESTION = "Mijn BSN is 111222333, krijg ik geld voor de speeltuin?"


@pytest.fixture
def smtp_server(tmp_path):
    server = SmtpServer(tmp_path / "smtp").start()
    yield server
    server.stop()


def worker_with(url, tmp_path, server: SmtpServer, hours: str, **extra: str):
    settings = make_status_settings(
        url,
        tmp_path,
        **server.settings(
            KW_HELPDESK_MAILBOX=TEAM,
            KW_HELPDESK_NOTIFY_WAIT_MIN="30",
            KW_HELPDESK_HOURS=hours,
            KW_PUBLIC_URL="https://kw.example.nl",
            **extra,
        ),
    )
    service = HandoffService.from_settings(settings)
    worker = OutboxWorker(service, settings.mail, OpeningHours.from_settings(settings), db_timeout_s=10.0)
    return service, worker


async def test_a_new_ticket_and_a_long_wait_each_notify_the_team_once(url, tmp_path, smtp_server):
    service, worker = worker_with(url, tmp_path, smtp_server, "ma-zo 00:00-24:00")
    ticket = service.create_ticket(
        "conv-melding", QUESTION, contact=APPLICANT, transcript=[("gebruiker", "UNIEK", None)]
    )
    now = utcnow()
    assert await worker.notify_due(now) == 1  # new
    assert await worker.notify_due(now) == 0  # once
    assert await worker.notify_due(now + dt.timedelta(minutes=29)) == 0
    assert await worker.notify_due(now + dt.timedelta(minutes=31)) == 1  # waits too long
    assert await worker.notify_due(now + dt.timedelta(minutes=90)) == 0
    while await worker.send_next():
        pass
    received = smtp_server.received()
    assert len(received) == 2
    reference = ticket_reference(ticket.public_id)
    subjects = sorted(m["Subject"] for m in received)
    assert subjects == [f"Een vraag wacht al 30 minuten ({reference})", f"Nieuwe vraag voor de helpdesk ({reference})"]
    link = f"https://kw.example.nl/helpdesk/vraag/{ticket.public_id}"
    for msg in received:
        assert msg["To"].addresses[0].addr_spec == TEAM and msg["Auto-Submitted"] == "auto-generated"
        raw = msg.as_bytes()
        for secret in (b"111222333", b"speeltuin", b"UNIEK", APPLICANT.encode(), b"BSN"):
            assert secret not in raw
        body = msg.get_body(("plain",)).get_content()
        assert link in body and f"Kenmerk: {reference}" in body
        assert f'href="{link}"' in msg.get_body(("html",)).get_content()
    # The notifications are no answers: the ticket's history of answers stays empty of failures.
    assert service.failing_mails() == []


async def test_no_wait_notification_while_the_helpdesk_is_closed_and_none_when_switched_off(url, tmp_path, smtp_server):
    service, worker = worker_with(url, tmp_path, smtp_server, "ma-zo 00:00-00:01", KW_HELPDESK_NOTIFY_NEW="0")
    service.create_ticket("conv-gesloten", QUESTION)
    later = utcnow() + dt.timedelta(hours=2)
    if OpeningHours.parse("ma-zo 00:00-00:01").is_open(later.replace(tzinfo=dt.UTC)):
        later += dt.timedelta(minutes=5)
    assert await worker.notify_due(later) == 0
    assert not await worker.send_next() and smtp_server.received() == []
