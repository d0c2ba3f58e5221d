"""Mask personal data in what users type, before it reaches Rasa (and so the tracker and logs).

Masked: e-mail addresses, phone numbers (Dutch and international), BSNs (9 digits that pass
the 11-proef, or any 8-9 digit number right after the word "BSN"), and IBANs (Dutch format,
or any format with a valid mod-97 checksum). Each is replaced by a Dutch placeholder in square
brackets, so the assistant and the helpdesk still see that something was given.

Things that look like numbers but are not personal stay untouched: aanvraagnummers
(KW-2025-0042), years and periods (2026-2028), amounts (€ 400.000.000), dates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Tuple

EMAIL = "[e-mailadres]"
PHONE = "[telefoonnummer]"
BSN = "[BSN]"
IBAN = "[IBAN]"

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])"
)
# Candidate IBAN: country code, check digits, 11-30 alphanumerics, optionally in groups of 4.
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,4})?)(?![A-Za-z0-9])"
)
_NL_IBAN_RE = re.compile(r"^NL\d{2}[A-Z]{4}\d{10}$")
# Dutch numbers: 0 or +31/0031, then 9 digits, with optional spaces, dashes, dots or "(0)".
_PHONE_NL_RE = re.compile(
    r"(?<![\w+])(?:\+31|0031|0)[\s.-]?(?:\(0\)[\s.-]?)?[1-9](?:[\s.-]?\d){8}(?!\d)"
)
# Area code in brackets: (020) 123 45 67, (0168) 12 34 56 -- ten digits in all.
_PHONE_BRACKETS_RE = re.compile(r"(?<![\w+])\(0\d{1,3}\)[\s.-]?\d(?:[\s.-]?\d){4,8}(?!\d)")
# Service numbers such as 0800-1234 or 0900 123 4567.
_PHONE_SERVICE_RE = re.compile(r"(?<![\w])0[89]0[069][\s.-]?\d{3,4}(?:[\s.-]?\d{3,4})?(?!\d)")
# Other international numbers: + and 8 to 15 digits.
_PHONE_INTL_RE = re.compile(r"(?<![\w+])\+[1-9](?:[\s.-]?\d){7,14}(?!\d)")
# Nine digits as one block or in the usual groups (123456782, 123.456.782, 1234.56.782).
_BSN_RE = re.compile(
    r"(?<![\d.,-])(\d{9}|\d{3}[ .]\d{3}[ .]\d{3}|\d{4}[ .]\d{2}[ .]\d{3})(?![\d,]|\.\d)"
)
_BSN_CONTEXT_RE = re.compile(
    r"(?i)\b(bsn|burgerservicenummer|sofinummer)(\s*(?:nummer|nr\.?)?\s*(?:is|:)?\s*)(\d[\d .]{6,11}\d)(?!\d)"
)


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
    value = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(value) <= 34 or not value.isalnum():
        return False
    rearranged = value[4:] + value[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _sub(pattern: re.Pattern, placeholder: str, text: str, kind: str, kinds: List[str],
         accept=None) -> str:
    def repl(m: re.Match) -> str:
        if accept is not None and not accept(m):
            return m.group(0)
        kinds.append(kind)
        return placeholder

    return pattern.sub(repl, text)


def _iban_accept(m: re.Match) -> bool:
    compact = re.sub(r"\s", "", m.group(1)).upper()
    return bool(_NL_IBAN_RE.match(compact)) or iban_valid(compact)


def _bsn_accept(m: re.Match) -> bool:
    return elfproef(re.sub(r"\D", "", m.group(1)))


def mask_personal_data(text: str) -> Masked:
    """Replace e-mail addresses, phone numbers, BSNs and IBANs in `text`."""
    kinds: List[str] = []
    out = _sub(_EMAIL_RE, EMAIL, text, "email", kinds)
    out = _sub(_IBAN_RE, IBAN, out, "iban", kinds, _iban_accept)

    def bsn_context(m: re.Match) -> str:
        kinds.append("bsn")
        return f"{m.group(1)}{m.group(2)}{BSN}"

    out = _BSN_CONTEXT_RE.sub(bsn_context, out)
    out = _sub(_PHONE_NL_RE, PHONE, out, "phone", kinds)
    out = _sub(_PHONE_BRACKETS_RE, PHONE, out, "phone", kinds,
               lambda m: len(re.sub(r"\D", "", m.group(0))) == 10)
    out = _sub(_PHONE_SERVICE_RE, PHONE, out, "phone", kinds)
    out = _sub(_PHONE_INTL_RE, PHONE, out, "phone", kinds)
    out = _sub(_BSN_RE, BSN, out, "bsn", kinds, _bsn_accept)
    return Masked(out, kinds)


def summary(kinds: List[str]) -> Tuple[str, ...]:
    """The distinct kinds, in a stable order (for the widget notice and counters)."""
    order = ("email", "phone", "bsn", "iban")
    return tuple(k for k in order if k in kinds)
