"""Mask personal data in what users type, before it is stored anywhere (tracker, tickets, logs).

The patterns are the extractor's (bot/core/extract.py): what is masked here is exactly what
the extractor finds, so a contact masked in the transcript is the one stored on the ticket.

Masked: e-mail addresses (non-ASCII letters too), phone numbers (Dutch and international, with
spaces, dashes, dots, slashes or brackets between the digits), BSNs (nine digits in any
grouping that pass the 11-proef, or any 8-9 digit number right after the word "BSN") and IBANs
(with or without separators; Dutch format or a valid mod-97 checksum). Each is replaced by a
Dutch placeholder in square brackets, so the assistant and the helpdesk still see that
something was given.

The text is normalised (NFKC) first, so full-width digits (０６…) and other look-alike forms
cannot slip past the patterns. Things that look like numbers but are not personal stay as they
are: aanvraagnummers (KW-2025-0042), years and periods (2026-2028), amounts (€ 400.000.000),
dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core import extract
from bot.core.extract import elfproef, iban_valid, normalize  # noqa: F401 - part of this API

EMAIL = "[e-mailadres]"
PHONE = "[telefoonnummer]"
BSN = "[BSN]"
IBAN = "[IBAN]"
#: The placeholder of each kind the extractor finds (bot/core/extract.py holds the patterns).
PLACEHOLDERS = {extract.EMAIL: EMAIL, extract.PHONE: PHONE, extract.BSN: BSN, extract.IBAN: IBAN}


@dataclass
class Masked:
    """The text with personal data replaced, and the kinds that were found (for counters only)."""

    text: str
    kinds: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def mask_personal_data(text: str) -> Masked:
    """Replace e-mail addresses, phone numbers, BSNs and IBANs in `text` (normalised first)."""
    out, found = extract.scan_personal(text, PLACEHOLDERS)
    return Masked(out, [f.kind for f in found])


def mask_text(text: str | None) -> str:
    """Just the masked text ("" for None)."""
    if not text:
        return ""
    return mask_personal_data(text).text


def summary(kinds: list[str]) -> tuple[str, ...]:
    """The distinct kinds, in a stable order (for the widget notice and counters)."""
    order = ("email", "phone", "bsn", "iban")
    return tuple(k for k in order if k in kinds)
