"""Sending one mail over SMTP with aiosmtplib, and what went wrong as a Dutch reason.

The connection is STARTTLS (``KW_SMTP_SECURITY=starttls``, required: a server that offers no
STARTTLS is refused), implicit TLS (``tls``) or plain (``none``, only for a local catcher; the
settings refuse it in production). Certificates are always verified, against the system's CAs
and ``KW_SMTP_CA_FILE``. Every connect and command is bounded by ``KW_SMTP_TIMEOUT_S``.

A failure is a :class:`SendFailure`: ``kind`` for metrics and logs, ``reason`` in Dutch for the
console, ``permanent`` when trying again cannot help (the server refused the address or the
message with a 5xx code). Neither carries the recipient or the server's own words, which may
quote the address.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from bot.settings import MailSettings

#: kind → the Dutch reason the console shows.
REASONS = {
    "connection": "De mailserver is niet bereikbaar.",
    "disconnected": "De verbinding met de mailserver werd verbroken.",
    "timeout": "De mailserver antwoordde niet op tijd.",
    "tls": "Een beveiligde verbinding (TLS) met de mailserver lukte niet.",
    "auth": "Inloggen bij de mailserver is niet gelukt.",
    "recipient": "De mailserver weigert het e-mailadres (code {code}).",
    "sender": "De mailserver weigert het afzenderadres (code {code}).",
    "refused": "De mailserver weigert de e-mail (code {code}).",
    "busy": "De mailserver kan de e-mail nu niet aannemen (code {code}).",
    "protocol": "De mailserver accepteert deze manier van verbinden niet. Controleer de instellingen.",
    "error": "Versturen is niet gelukt door een onverwachte fout.",
}
KINDS = tuple(REASONS)


class SendFailure(Exception):
    """Sending failed; ``reason`` is Dutch and free of personal data."""

    def __init__(self, kind: str, permanent: bool = False, code: int | None = None) -> None:
        self.kind = kind if kind in REASONS else "error"
        self.permanent = permanent
        self.code = code
        self.reason = REASONS[self.kind].format(code=code if code is not None else "?")
        super().__init__(self.reason)


def tls_context(config: MailSettings) -> ssl.SSLContext:
    """Verifying TLS 1.2+ context: the system's CAs, plus ``KW_SMTP_CA_FILE`` when set."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.ca_file:
        context.load_verify_locations(cafile=config.ca_file)
    return context


def _response_failure(exc: aiosmtplib.SMTPResponseException) -> SendFailure:
    code = int(exc.code) if isinstance(exc.code, int) else None
    permanent = code is not None and 500 <= code < 600
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Wrong credentials are fixed in the settings, not by the recipient: keep trying.
        return SendFailure("auth", False, code)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return SendFailure("recipient" if permanent else "busy", permanent, code)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return SendFailure("sender" if permanent else "busy", False, code)
    return SendFailure("refused" if permanent else "busy", permanent, code)


def classify(exc: BaseException) -> SendFailure:
    """The failure an exception of aiosmtplib (or the network under it) stands for."""
    if isinstance(exc, SendFailure):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        return _response_failure(first) if first is not None else SendFailure("refused", True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _response_failure(exc)
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError, aiosmtplib.SMTPNotSupported)):
        return SendFailure("tls")
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
        return SendFailure("timeout")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return SendFailure("disconnected")
    if isinstance(exc, (aiosmtplib.SMTPConnectError, ConnectionError, OSError)):
        return SendFailure("connection")
    if isinstance(exc, aiosmtplib.SMTPException):
        # No response code: the server lacks what the settings ask for (e.g. a login offered
        # only after STARTTLS while KW_SMTP_SECURITY=none).
        return SendFailure("protocol")
    return SendFailure("error")


async def send(config: MailSettings, message: EmailMessage, recipient: str) -> None:
    """Deliver ``message`` to ``recipient`` through the configured server, or raise
    :class:`SendFailure`. Returns once the server accepted the message (250 after DATA)."""
    if not config.enabled:
        raise SendFailure("connection")
    secure = config.security != "none"
    try:
        await aiosmtplib.send(
            message,
            sender=config.sender,
            recipients=[recipient],
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=config.password or None,
            timeout=config.timeout_s,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=tls_context(config) if secure else None,
        )
    except Exception as exc:  # every failure becomes a SendFailure with a Dutch reason
        raise classify(exc) from exc


__all__ = ["KINDS", "REASONS", "SendFailure", "classify", "send", "tls_context"]
