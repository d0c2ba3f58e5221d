"""The SMTP client (bot/mail/smtp.py) against a real server process: implicit TLS as well as
STARTTLS, certificates verified, a login required; each failure a Dutch reason without the
address, permanent or not."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.mail import smtp
from bot.mail.compose import Mail, compose, new_message_id
from bot.settings import MailSettings, load
from tests.fixtures.smtp import SmtpServer, make_certificate

pytestmark = pytest.mark.asyncio

RECIPIENT = "aanvrager@voorbeeld.nl"


@pytest.fixture
def server(tmp_path):
    s = SmtpServer(tmp_path / "smtp")
    yield s
    s.stop()


def config(server: SmtpServer, tmp_path, **extra: str) -> MailSettings:
    return load({"KW_VAR_DIR": str(tmp_path / "var"), **server.settings(KW_SMTP_TIMEOUT_S="5", **extra)}).mail


def a_mail(settings: MailSettings, recipient: str = RECIPIENT) -> Mail:
    return Mail(
        sender=settings.sender,
        sender_name="Helpdesk – Zoë",
        recipient=recipient,
        subject="Antwoord op je vraag (KW-12345678) – één vraag",
        text="Hallo,\n\nDit is één antwoord.\n",
        html="<p>Hallo,</p><p>Dit is één antwoord.</p>",
        message_id=new_message_id(settings.sender),
        date=dt.datetime(2026, 12, 7, 9, 0),
    )


async def test_implicit_tls_delivers(server, tmp_path):
    server.start(implicit_tls=True)
    settings = config(server, tmp_path, KW_SMTP_SECURITY="tls")
    mail = a_mail(settings)
    await smtp.send(settings, compose(mail), RECIPIENT)
    [got] = server.received()
    assert got["Message-ID"] == mail.message_id and got["Subject"] == mail.subject
    assert got["From"].addresses[0].display_name == "Helpdesk – Zoë"
    assert server.sessions() == [{"tls": True, "auth": True}]


@pytest.mark.parametrize(
    ("extra", "recipient", "kind", "permanent", "reason"),
    [
        ({"KW_SMTP_PASSWORD": "verkeerd-wachtwoord"}, RECIPIENT, "auth", False, "Inloggen bij de mailserver"),
        ({"KW_SMTP_CA_FILE": ""}, RECIPIENT, "tls", False, "beveiligde verbinding"),  # self-signed: not trusted
        # The server offers its login only after STARTTLS.
        ({"KW_SMTP_SECURITY": "none"}, RECIPIENT, "protocol", False, "Controleer de instellingen"),
        ({}, "iemand@geweigerd.example", "recipient", True, "weigert het e-mailadres (code 550)"),
    ],
)
async def test_failures_are_classified_without_the_address(server, tmp_path, extra, recipient, kind, permanent, reason):
    server.start()
    settings = config(server, tmp_path, **extra)
    with pytest.raises(smtp.SendFailure) as caught:
        await smtp.send(settings, compose(a_mail(settings, recipient)), recipient)
    failure = caught.value
    assert failure.kind == kind
    assert failure.permanent is permanent
    if reason:
        assert reason in failure.reason
    assert recipient not in failure.reason and "@" not in failure.reason
    assert server.received() == []


async def test_another_certificate_is_refused(server, tmp_path):
    server.start()
    other_cert, _ = make_certificate(tmp_path)  # a CA that did not sign the server's certificate
    settings = config(server, tmp_path, KW_SMTP_CA_FILE=str(other_cert))
    with pytest.raises(smtp.SendFailure) as caught:
        await smtp.send(settings, compose(a_mail(settings)), RECIPIENT)
    assert caught.value.kind == "tls" and server.received() == []


async def test_nobody_listening_is_a_connection_failure(server, tmp_path):
    settings = config(server, tmp_path)
    with pytest.raises(smtp.SendFailure) as caught:
        await smtp.send(settings, compose(a_mail(settings)), RECIPIENT)
    assert (caught.value.kind, caught.value.permanent) == ("connection", False)
    assert caught.value.reason == "De mailserver is niet bereikbaar."
