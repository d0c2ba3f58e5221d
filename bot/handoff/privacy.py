"""Personal data in the handoff: masking for display and logs, and the encrypted contact value.

* Free text (questions, user messages, transcript, logs): :func:`bot.core.masking.mask_text`
  (e-mail, phone, BSN, IBAN → ``[e-mailadres]`` …), the one masker, so the console and the
  tracker mask alike.
* The contact a user leaves for the helpdesk: :func:`normalize_contact` checks that it is an
  e-mail address or a phone number; :func:`mask_contact` gives the display form
  (``j•••@g•••.nl``, ``•••••••678``) which the console shows and logs may contain; the value
  itself is kept only encrypted (:class:`ContactCipher`, Fernet) so the helpdesk can still reach
  the user. No function here puts a contact value into an exception message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.masking import mask_text as mask_text  # re-exported: the handoff's masker is the core's

EMAIL = "email"
PHONE = "telefoon"
CONTACT_KINDS = (EMAIL, PHONE)
DOT = "\u2022"  # •

_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}$")
_PHONE_CHARS_RE = re.compile(r"^[+0-9 ()./-]{6,30}$")


@dataclass(frozen=True)
class Contact:
    """A checked way to reach the user. ``repr`` shows the masked form only."""

    kind: str
    value: str

    @property
    def masked(self) -> str:
        masked = mask_contact(self.kind, self.value)
        assert masked is not None  # a Contact's value is never empty
        return masked

    def __repr__(self) -> str:
        return f"Contact({self.kind!r}, {self.masked!r})"

    __str__ = __repr__


class InvalidContact(ValueError):
    """Neither an e-mail address nor a phone number (the value is not in the message)."""


def normalize_contact(value: str | None) -> Contact | None:
    """An e-mail address (lower-cased domain) or a phone number (digits, leading +), or None for
    an empty value. Raises :class:`InvalidContact` for anything else."""
    if value is None:
        return None
    raw = " ".join(str(value).split())
    if not raw:
        return None
    if len(raw) > 254:
        raise InvalidContact("Dat is te lang voor een e-mailadres of telefoonnummer.")
    if "@" in raw:
        if not _EMAIL_RE.match(raw):
            raise InvalidContact("Dat lijkt geen geldig e-mailadres.")
        local, domain = raw.rsplit("@", 1)
        return Contact(EMAIL, f"{local}@{domain.lower()}")
    if not _PHONE_CHARS_RE.match(raw):
        raise InvalidContact("Geef een e-mailadres of een telefoonnummer.")
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        number = "+" + digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    else:
        number = digits
    national = number.startswith("0")
    if national and len(number) != 10:
        raise InvalidContact("Een Nederlands telefoonnummer heeft 10 cijfers.")
    if not national and not (number.startswith("+") and 9 <= len(number) <= 16):
        raise InvalidContact("Dat lijkt geen geldig telefoonnummer.")
    return Contact(PHONE, number)


def mask_email(value: str) -> str:
    """``jan.jansen@gmail.com`` → ``j•••@g•••.com``."""
    local, _, domain = value.rpartition("@")
    labels = domain.split(".")
    masked_domain = ".".join([(label[:1] + DOT * 3) if label else label for label in labels[:-1]] + labels[-1:])
    return f"{local[:1]}{DOT * 3}@{masked_domain}"


def mask_phone(value: str) -> str:
    """``0612345678`` → ``•••••••678``; ``+3212345678`` → ``+••••••••678``."""
    plus = value.startswith("+")
    digits = re.sub(r"\D", "", value)
    shown = digits[-3:]
    return ("+" if plus else "") + DOT * max(0, len(digits) - len(shown)) + shown


def mask_contact(kind: str | None, value: str | None) -> str | None:
    """Display form of a contact: enough to recognise it, not enough to use it."""
    if not value:
        return None
    if kind == EMAIL:
        return mask_email(value)
    if kind == PHONE:
        return mask_phone(value)
    return DOT * 6


def contact_hint(kind: str | None, value: str | None) -> str:
    """What the assistant says back to the user: enough to recognise, nothing to use
    (``piet@gemeente.nl`` → ``p…@…``, ``0612345678`` → ``…678``)."""
    if not value:
        return "…"
    if kind == EMAIL:
        return f"{value[:1]}…@…"
    return "…" + re.sub(r"\D", "", value)[-3:]


class ContactCipher:
    """Fernet encryption (AES-128-CBC + HMAC-SHA256) of contact values at rest.

    ``keys`` come from ``KW_CONTACT_KEY`` (comma-separated), a key of their own, never derived
    from another secret. The first key encrypts; all of them decrypt, so a key is rotated by
    putting a new one in front (MultiFernet) and re-encrypting with ``rotate``."""

    def __init__(self, keys: str | bytes | Sequence[str | bytes]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if isinstance(keys, (bytes, str)):
            keys = [keys]
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str | None:
        """The value, or None when the token was made with another key or is damaged."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None

    def __repr__(self) -> str:  # never the key
        return "<ContactCipher>"
