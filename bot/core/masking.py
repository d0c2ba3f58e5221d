"""Mask personal data in what users type, before it is stored anywhere (tracker, tickets, logs).

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

import re
import unicodedata
from dataclasses import dataclass, field
from typing import List, Tuple

EMAIL = "[e-mailadres]"
PHONE = "[telefoonnummer]"
BSN = "[BSN]"
IBAN = "[IBAN]"

# One separator people type between digit groups.
_S = r"(?:[ \t./\-\u2010-\u2015\u2212]|\s-\s)"

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w][\w.%+'-]{0,63}@(?:[\w-]{1,63}\.)+[^\W\d_]{2,24}(?![\w-])"
)
# Candidate IBAN: country code, check digits, then groups of (up to) four, any separator.
_IBAN_RE = re.compile(
    rf"(?<![A-Za-z0-9])([A-Za-z]{{2}}\d{{2}}(?:{_S}?[A-Za-z0-9]{{4}}){{2,7}}(?:{_S}?[A-Za-z0-9]{{1,4}})?)(?![A-Za-z0-9])"
)
_NL_IBAN_RE = re.compile(r"^NL\d{2}[A-Z]{4}\d{10}$")
# Dutch numbers: +31 / 0031 / 0, an optional "(0)", then nine digits.
_PHONE_NL_RE = re.compile(
    rf"(?<![\w+])(?:(?:\+|00){_S}?31{_S}?(?:\(0\){_S}?)?|0)[1-9](?:{_S}?\d){{8}}(?!\d)"
)
# Area code in brackets: (020) 123 45 67, (06) 12345678 -- ten digits in all.
_PHONE_BRACKETS_RE = re.compile(rf"(?<![\w+])\(0\d{{1,3}}\){_S}?\d(?:{_S}?\d){{4,8}}(?!\d)")
# Service numbers such as 0800-1234 or 0900 123 4567.
_PHONE_SERVICE_RE = re.compile(rf"(?<!\w)0[89]0[069]{_S}?\d{{3,4}}(?:{_S}?\d{{3,4}})?(?!\d)")
# Other international numbers: + or 00, then 8 to 15 digits.
_PHONE_INTL_RE = re.compile(rf"(?<![\w+])(?:\+|00)[1-9](?:{_S}?\d){{7,14}}(?!\d)")
# Nine digits in any grouping (123456782, 123-456-782, 12 34 56 782, 1234.56.782).
_BSN_RE = re.compile(rf"(?<![\d,])(?<!\d[.\-])(\d(?:{_S}?\d){{8}})(?!{_S}?\d|,\d)")
_BSN_CONTEXT_RE = re.compile(
    r"(?i)\b(bsn|burgerservicenummer|sofinummer)(\s*(?:nummer|nr\.?)?\s*(?:is|:)?\s*)(\d[\d .\-]{6,14}\d)(?!\d)"
)
# An amount is not a BSN: "€ 123.456.782", "123.456.782 euro".
_CURRENCY_BEFORE_RE = re.compile(r"(?:€|eur|euro)\s*$", re.IGNORECASE)
_CURRENCY_AFTER_RE = re.compile(r"^\s*(?:€|eur\b|euro)", re.IGNORECASE)


@dataclass
class Masked:
    """The text with personal data replaced, and the kinds that were found (for counters only)."""

    text: str
    kinds: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def elfproef(digits: str) -> bool:
    """The BSN check: weighted sum 9..2 and -1 for the last digit is a multiple of 11."""
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 check."""
    value = re.sub(r"[^A-Za-z0-9]", "", candidate).upper()
    if not 15 <= len(value) <= 34 or not value.isascii() or not value.isalnum():
        return False
    rearranged = value[4:] + value[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _iban_accept(text: str, m: re.Match) -> bool:
    compact = re.sub(r"[^A-Za-z0-9]", "", m.group(1)).upper()
    return bool(_NL_IBAN_RE.match(compact)) or iban_valid(compact)


def _bsn_accept(text: str, m: re.Match) -> bool:
    if _CURRENCY_BEFORE_RE.search(text[max(0, m.start() - 6):m.start()]):
        return False
    if _CURRENCY_AFTER_RE.match(text[m.end():m.end() + 6]):
        return False
    return elfproef(_digits(m.group(1)))


def _brackets_accept(text: str, m: re.Match) -> bool:
    return len(_digits(m.group(0))) == 10


def _sub(pattern: re.Pattern, placeholder: str, text: str, kind: str, kinds: List[str],
         accept=None) -> str:
    def repl(m: re.Match) -> str:
        if accept is not None and not accept(text, m):
            return m.group(0)
        kinds.append(kind)
        return placeholder

    return pattern.sub(repl, text)


def normalize(text: str) -> str:
    """NFKC: full-width and other compatibility forms become their plain characters."""
    return unicodedata.normalize("NFKC", text)


def mask_personal_data(text: str) -> Masked:
    """Replace e-mail addresses, phone numbers, BSNs and IBANs in `text` (normalised first)."""
    kinds: List[str] = []
    out = _sub(_EMAIL_RE, EMAIL, normalize(text), "email", kinds)
    out = _sub(_IBAN_RE, IBAN, out, "iban", kinds, _iban_accept)

    def bsn_context(m: re.Match) -> str:
        kinds.append("bsn")
        return f"{m.group(1)}{m.group(2)}{BSN}"

    out = _BSN_CONTEXT_RE.sub(bsn_context, out)
    out = _sub(_PHONE_NL_RE, PHONE, out, "phone", kinds)
    out = _sub(_PHONE_BRACKETS_RE, PHONE, out, "phone", kinds, _brackets_accept)
    out = _sub(_PHONE_SERVICE_RE, PHONE, out, "phone", kinds)
    out = _sub(_PHONE_INTL_RE, PHONE, out, "phone", kinds)
    out = _sub(_BSN_RE, BSN, out, "bsn", kinds, _bsn_accept)
    return Masked(out, kinds)


def mask_text(text: str | None) -> str:
    """Just the masked text ("" for None)."""
    if not text:
        return ""
    return mask_personal_data(text).text


def summary(kinds: List[str]) -> Tuple[str, ...]:
    """The distinct kinds, in a stable order (for the widget notice and counters)."""
    order = ("email", "phone", "bsn", "iban")
    return tuple(k for k in order if k in kinds)
