"""One mail as MIME: a ``multipart/alternative`` of plain text and HTML, UTF-8 throughout.

Headers with non-ASCII text (a subject with "vraag ‘groen’", the helpdesk's name) are encoded
as RFC 2047 words by the standard library's SMTP policy; lines end in CRLF. The Message-ID and
the Date come from the stored mail, so every attempt to send it is the same message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP


@dataclass(frozen=True)
class Mail:
    """What one mail says and to whom. ``repr`` leaves the recipient and the body out."""

    sender: str
    sender_name: str
    recipient: str = field(repr=False)
    subject: str
    text: str = field(repr=False)
    html: str = field(repr=False)
    message_id: str
    date: dt.datetime
    #: True for a notification to the team: ``Auto-Submitted: auto-generated`` (RFC 3834).
    automatic: bool = False


def new_message_id(sender: str) -> str:
    """A Message-ID that is unique and made once, when the mail is stored (``<…@domain>``)."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<kw.{secrets.token_hex(16)}@{domain}>"


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def compose(mail: Mail) -> EmailMessage:
    """The MIME message of ``mail`` (policy SMTP: CRLF line ends, encoded headers)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(mail.sender_name, mail.sender)
    msg["To"] = _address("", mail.recipient)
    msg["Subject"] = mail.subject
    date = mail.date if mail.date.tzinfo is not None else mail.date.replace(tzinfo=dt.UTC)
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = mail.message_id
    msg["MIME-Version"] = "1.0"
    if mail.automatic:
        msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


__all__ = ["Mail", "compose", "new_message_id"]
