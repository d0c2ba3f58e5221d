"""The one extractor: the values people type inside free sentences, and the patterns the masking
of personal data uses (bot/core/masking.py masks exactly what is found here).

* Personal data: e-mail addresses (non-ASCII letters too), phone numbers (Dutch and
  international, with spaces, dashes, dots, slashes or brackets between the digits), BSNs and
  IBANs. :func:`scan_personal` finds them in the order the masking replaces them, so that a
  number is one kind only (an IBAN's digits are never also a phone number).
* Contact details: :func:`contacts` / :func:`first_contact` give the e-mail addresses and phone
  numbers of a sentence ("je kunt me bellen op 06-12345678", "tel: 010 123 4567") as values
  that can be stored.
* Aanvraagnummers: :func:`parse_aanvraagnummer` ("onze aanvraag is kw 2025 0042").
* Verificatiecodes in any spelling: :func:`extract_code` ("K7QM_WX3D", "k7qm wx3d",
  "K 7 Q M W X 3 D", full-width forms, dots and slashes between the characters).

The text is normalised (NFKC) first, so full-width digits and letters (０６…, Ｋ７…) and other
look-alike forms cannot slip past the patterns. Nothing here logs or raises with a value in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

#: Longest text that is searched (the gateway limits messages far below this).
MAX_TEXT_CHARS = 10_000

EMAIL = "email"
PHONE = "phone"
BSN = "bsn"
IBAN = "iban"


def normalize(text: str) -> str:
    """NFKC: full-width and other compatibility forms become their plain characters."""
    return unicodedata.normalize("NFKC", text)


# -- personal data ----------------------------------------------------------------------------

# One separator people type between digit groups.
_S = r"(?:[ \t./\-\u2010-\u2015\u2212]|\s-\s)"

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w][\w.%+'-]{0,63}@(?:[\w-]{1,63}\.)+[^\W\d_]{2,24}(?![\w-])")
# Candidate IBAN: country code, check digits, then groups of (up to) four, any separator.
IBAN_RE = re.compile(
    rf"(?<![A-Za-z0-9])([A-Za-z]{{2}}\d{{2}}(?:{_S}?[A-Za-z0-9]{{4}}){{2,7}}(?:{_S}?[A-Za-z0-9]{{1,4}})?)(?![A-Za-z0-9])"
)
_NL_IBAN_RE = re.compile(r"^NL\d{2}[A-Z]{4}\d{10}$")
# Dutch numbers: +31 / 0031 / 0, an optional "(0)", then nine digits.
PHONE_NL_RE = re.compile(rf"(?<![\w+])(?:(?:\+|00){_S}?31{_S}?(?:\(0\){_S}?)?|0)[1-9](?:{_S}?\d){{8}}(?!\d)")
# Area code in brackets: (020) 123 45 67, (06) 12345678 -- ten digits in all.
PHONE_BRACKETS_RE = re.compile(rf"(?<![\w+])\(0\d{{1,3}}\){_S}?\d(?:{_S}?\d){{4,8}}(?!\d)")
# Service numbers such as 0800-1234 or 0900 123 4567.
PHONE_SERVICE_RE = re.compile(rf"(?<!\w)0[89]0[069]{_S}?\d{{3,4}}(?:{_S}?\d{{3,4}})?(?!\d)")
# Other international numbers: + or 00, then 8 to 15 digits.
PHONE_INTL_RE = re.compile(rf"(?<![\w+])(?:\+|00)[1-9](?:{_S}?\d){{7,14}}(?!\d)")
# Nine digits in any grouping (123456782, 123-456-782, 12 34 56 782, 1234.56.782).
BSN_RE = re.compile(rf"(?<![\d,])(?<!\d[.\-])(\d(?:{_S}?\d){{8}})(?!{_S}?\d|,\d)")
BSN_CONTEXT_RE = re.compile(
    r"(?i)\b(bsn|burgerservicenummer|sofinummer)(\s*(?:nummer|nr\.?)?\s*(?:is|:)?\s*)(\d[\d .\-]{6,14}\d)(?!\d)"
)
# An amount is not a BSN: "€ 123.456.782", "123.456.782 euro".
_CURRENCY_BEFORE_RE = re.compile(r"(?:€|eur|euro)\s*$", re.IGNORECASE)
_CURRENCY_AFTER_RE = re.compile(r"^\s*(?:€|eur\b|euro)", re.IGNORECASE)


def elfproef(digits: str) -> bool:
    """The BSN check: weighted sum 9..2 and -1 for the last digit is a multiple of 11."""
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=False)) - int(digits[8])
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


def _iban_accept(text: str, m: re.Match[str]) -> bool:
    compact = re.sub(r"[^A-Za-z0-9]", "", m.group(1)).upper()
    return bool(_NL_IBAN_RE.match(compact)) or iban_valid(compact)


def _bsn_accept(text: str, m: re.Match[str]) -> bool:
    if _CURRENCY_BEFORE_RE.search(text[max(0, m.start() - 6) : m.start()]):
        return False
    if _CURRENCY_AFTER_RE.match(text[m.end() : m.end() + 6]):
        return False
    return elfproef(_digits(m.group(1)))


def _brackets_accept(text: str, m: re.Match[str]) -> bool:
    return len(_digits(m.group(0))) == 10


@dataclass(frozen=True)
class Found:
    """One piece of personal data: its kind and the text as typed (after NFKC). ``repr`` hides
    the text, so a Found in a log line or assertion message reveals nothing."""

    kind: str
    text: str

    def __repr__(self) -> str:
        return f"Found({self.kind!r})"


#: Whether a match in a text is personal data after all (a checksum, no currency nearby).
Accept = Callable[[str, "re.Match[str]"], bool]

#: (pattern, kind, accept) in the order they are applied: e-mail first (its digits are no phone
#: number), IBANs and "BSN: …" before phone numbers, plain nine digits last.
_PERSONAL: tuple[tuple[re.Pattern[str], str, Accept | None], ...] = (
    (EMAIL_RE, EMAIL, None),
    (IBAN_RE, IBAN, _iban_accept),
    (BSN_CONTEXT_RE, BSN, None),
    (PHONE_NL_RE, PHONE, None),
    (PHONE_BRACKETS_RE, PHONE, _brackets_accept),
    (PHONE_SERVICE_RE, PHONE, None),
    (PHONE_INTL_RE, PHONE, None),
    (BSN_RE, BSN, _bsn_accept),
)


def scan_personal(text: str, placeholders: Mapping[str, str]) -> tuple[str, list[Found]]:
    """The text (normalised) with every piece of personal data replaced by
    ``placeholders[kind]``, and what was found, in the order it was replaced."""
    found: list[Found] = []
    out = normalize(text)
    for pattern, kind, accept in _PERSONAL:
        current = out

        def repl(
            m: re.Match[str],
            pattern: re.Pattern[str] = pattern,
            kind: str = kind,
            accept: Accept | None = accept,
            current: str = current,
        ) -> str:
            if accept is not None and not accept(current, m):
                return m.group(0)
            if pattern is BSN_CONTEXT_RE:
                # Only the number after the word "BSN" is personal; the word stays.
                found.append(Found(kind, m.group(3)))
                return f"{m.group(1)}{m.group(2)}{placeholders[kind]}"
            found.append(Found(kind, m.group(0) if pattern is not IBAN_RE else m.group(1)))
            return placeholders[kind]

        out = pattern.sub(repl, current)
    return out, found


# -- contact details --------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactValue:
    """A way to reach the user found in a message: ``kind`` "email" or "phone" and the value in
    the form it is stored (e-mail with a lower-case domain; a phone number as digits, with a
    leading + for international numbers). ``repr`` shows the kind only."""

    kind: str
    value: str

    def __repr__(self) -> str:
        return f"ContactValue({self.kind!r})"

    __str__ = __repr__


def _contact_value(found: Found) -> ContactValue | None:
    if found.kind == EMAIL:
        local, _, domain = found.text.rpartition("@")
        return ContactValue(EMAIL, f"{local}@{domain.lower()}")
    if found.kind != PHONE:
        return None
    raw = found.text.strip()
    international = raw.startswith("+") or raw.startswith("00")
    if international:
        raw = raw.replace("(0)", "")  # +31 (0)6 …: the 0 is not dialled from abroad
        digits = _digits(raw)
        number = "+" + (digits[2:] if raw.startswith("00") else digits)
        return ContactValue(PHONE, number) if 9 <= len(number) <= 16 else None
    digits = _digits(raw)
    # Reachable Dutch numbers have ten digits; service numbers (0800-…) are nobody's contact.
    service = digits.startswith(("0800", "0900", "0906", "0909"))
    return ContactValue(PHONE, digits) if len(digits) == 10 and not service else None


def contacts(text: str | None) -> list[ContactValue]:
    """The e-mail addresses and phone numbers in ``text``, in the order they were typed."""
    if not isinstance(text, str) or not text:
        return []
    _, found = scan_personal(text, {EMAIL: "\0", PHONE: "\0", BSN: "\0", IBAN: "\0"})
    values = [(normalize(text).find(f.text), _contact_value(f)) for f in found]
    return [v for _, v in sorted(((pos, v) for pos, v in values if v is not None), key=lambda p: p[0])]


def first_contact(text: str | None) -> ContactValue | None:
    """The first e-mail address or phone number in ``text``, or None."""
    found = contacts(text)
    return found[0] if found else None


# -- aanvraagnummers --------------------------------------------------------------------------

# Separators people type between the parts: spaces, dashes of all kinds, dots, slashes, _.
_NUMBER_SEP = r"[\s.\-_/\u2010-\u2015\u2212]*"
NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9])[Kk]"
    + r"[\s.\-]?"
    + r"[Ww]"
    + _NUMBER_SEP
    + r"(20[0-9]{2})"
    + _NUMBER_SEP
    # Four digits, or fewer after a separator ("KW-2025-42" is KW-2025-0042).
    + r"([0-9]{4}|(?<=[\s.\-_/\u2010-\u2015\u2212])[0-9]{1,3})(?![0-9])"
)


def _bounded(text: str) -> str:
    return normalize(text[:MAX_TEXT_CHARS])


def parse_aanvraagnummer(text: str | None) -> str | None:
    """The canonical ``KW-YYYY-NNNN`` found in ``text``, or None.

    Tolerates case, spaces, dashes, dots and surrounding words. Returns None when there is no
    number, or when two different numbers occur (ambiguous).
    """
    if not text or not isinstance(text, str):
        return None
    found = {f"KW-{m.group(1)}-{int(m.group(2)):04d}" for m in NUMBER_RE.finditer(_bounded(text))}
    if len(found) != 1:
        return None
    return found.pop()


def canonical_aanvraagnummer(text: str | None) -> str | None:
    """Strict variant for the back-office feed: the whole text must be one number.

    ``" kw-2025-0042 "`` → ``"KW-2025-0042"``; ``"KW-2025-0042' OR 1=1"`` → None.
    """
    if not text or not isinstance(text, str) or len(text) > 40:
        return None
    match = NUMBER_RE.fullmatch(_bounded(text).strip())
    if not match or len(match.group(2)) != 4:  # the back office writes all four digits
        return None
    return f"KW-{match.group(1)}-{int(match.group(2)):04d}"


# -- verificatiecodes -------------------------------------------------------------------------

#: Code alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8
#: What a code is replaced by in the text that is passed on and stored.
CODE_PLACEHOLDER = "[verificatiecode]"
_CODE_RE = re.compile(r"^[A-Z0-9]{6,64}$")
#: Characters people put between the parts of a code (after NFKC, so full-width forms too).
_STRONG = set("-_./\\|·•+*~#\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_TOKEN_RE = re.compile(r"[^\W_]+")
_ALPHABET = set(CODE_ALPHABET)


def normalize_code(code: str | None) -> str | None:
    """Upper case, without separators; None when it cannot be a code at all."""
    if not code or not isinstance(code, str) or len(code) > 200:
        return None
    cleaned = "".join(ch for ch in normalize(code) if ch.isspace() is False and ch not in _STRONG).upper()
    if not _CODE_RE.match(cleaned):
        return None
    return cleaned


def _gap(gap: str) -> str:
    """How two tokens are joined: "strong" (a code's separator: K7QM-WX3D, K7QM - WX3D),
    "space" (K7QM WX3D) or "break" (anything else, e.g. ", " or ". " after a sentence)."""
    if len(gap) > 3 or "\n" in gap:
        return "break"
    core = gap.strip()
    if not core:
        return "space"
    if not all(ch in _STRONG for ch in core):
        return "break"
    # "K7QM. WX3D" or "klaar: k7qm" is punctuation, not a separator inside a code.
    if core != gap and not (gap[0].isspace() and gap[-1].isspace()):
        return "break"
    return "strong"


@dataclass(frozen=True)
class _Window:
    start: int
    end: int
    raw: str
    lengths: tuple[int, ...]
    gaps: tuple[str, ...]
    cased: str  # the letters as typed


def _windows(text: str) -> Iterator[_Window]:
    """Runs of tokens joined by separators that hold exactly eight characters."""
    tokens = [t for t in _TOKEN_RE.finditer(text)]
    gaps = [_gap(text[tokens[i].end() : tokens[i + 1].start()]) for i in range(len(tokens) - 1)]
    for i, first in enumerate(tokens):
        # A token glued to this one by a separator belongs to it: "ABCD-EFGH-JKMN" is no code.
        if i > 0 and gaps[i - 1] == "strong":
            continue
        total, j = 0, i
        while j < len(tokens):
            if j > i and gaps[j - 1] == "break":
                break
            total += len(tokens[j].group())
            if total >= CODE_LENGTH:
                break
            j += 1
        if total != CODE_LENGTH or j >= len(tokens):
            continue
        if j + 1 < len(tokens) and gaps[j] == "strong":
            continue
        # Never part of an e-mail address.
        before, after = text[max(0, first.start() - 1) : first.start()], text[tokens[j].end() : tokens[j].end() + 1]
        if "@" in before or "@" in after:
            continue
        part = tokens[i : j + 1]
        yield _Window(
            first.start(),
            tokens[j].end(),
            "".join(t.group() for t in part).upper(),
            tuple(len(t.group()) for t in part),
            tuple(gaps[i:j]),
            "".join(ch for t in part for ch in t.group() if ch.isalpha()),
        )


def _accept(text: str, w: _Window, expecting: bool, alone: bool) -> bool:
    if not set(w.raw) <= _ALPHABET or not any(c.isalpha() for c in w.raw):
        return False
    if parse_aanvraagnummer(text[w.start : w.end]):
        return False
    digit = any(c.isdigit() for c in w.raw)
    caps = w.cased.isupper()
    if len(w.lengths) == 1:
        # One word: "gemeente" or "deadline" is no code, "K7QMWX3D" is; when asked for the
        # code, a word alone (or written in capitals) is taken.
        return digit or (expecting and (alone or caps))
    uniform = len(set(w.lengths)) == 1
    if not (uniform or digit) or not (digit or caps or w.cased.islower()):
        return False
    if all(g == "strong" for g in w.gaps):
        # The back office's own form "abcd-efgh" counts in any case.
        return digit or caps or expecting or w.lengths == (4, 4)
    # Parted by spaces: "waar gaat" is two words, "k7qm wx3d" a code.
    return uniform and (digit or (expecting and (caps or alone)))


def _mistyped(text: str, w: _Window) -> bool:
    if not w.raw.isascii() or not any(c.isalpha() for c in w.raw) or parse_aanvraagnummer(text[w.start : w.end]):
        return False
    digit = any(c.isdigit() for c in w.raw)
    strong = len(w.lengths) > 1 and all(g == "strong" for g in w.gaps)
    return (digit and (len(w.lengths) == 1 or len(set(w.lengths)) == 1 or strong)) or (strong and w.lengths == (4, 4))


def _score(text: str, w: _Window) -> tuple[int, int]:
    """Of overlapping windows ("maar k7qm wxyd", "u k 7 q m w x 3 d") the one whose parts look
    most like a code's (digits, capitals) wins, then the later one: a code ends a sentence
    more often than a word of code letters follows it."""
    parts = _TOKEN_RE.findall(text[w.start : w.end])
    return sum(1 for p in parts if any(c.isdigit() for c in p) or p.isupper()), w.start


def _words_outside(text: str, w: _Window) -> int:
    return len(_TOKEN_RE.findall(text[: w.start])) + len(_TOKEN_RE.findall(text[w.end :]))


_CODE_CUE_RE = re.compile(r"\b(?:verificatie)?code\b", re.IGNORECASE)


def find_code(text: str | None, expecting: bool) -> tuple[str, int, int] | None:
    """(code as ``ABCD-EFGH``, start, end) of a verificatiecode in ``normalize(text)``, or None.

    ``expecting``: the assistant just asked for the code, so a short answer that can be a code
    is taken whole, also without digits. Otherwise a code needs a digit, capitals or a
    separator typed as in a code (K7QM-WX3D)."""
    if not isinstance(text, str) or not text:
        return None
    normalized = _bounded(text)

    def alone(w: _Window) -> bool:
        # "mijn code is kpwewxyv": when asked for it, what follows the word "code" counts as the
        # code alone ("waar gaat de code heen?" has no code).
        if expecting and _CODE_CUE_RE.search(normalized[: w.start]):
            return True
        return _words_outside(normalized, w) <= (1 if len(w.lengths) == 1 else 0)

    accepted = [w for w in _windows(normalized) if _accept(normalized, w, expecting, alone(w))]
    if not accepted and expecting:
        # Asked for the code, one typed with a look-alike ("BBBB-5555", "K7QM-WX3O") is a wrong
        # code, never text to pass on.
        accepted = [w for w in _windows(normalized) if _mistyped(normalized, w)]
    if not accepted:
        return None
    w = max(accepted, key=lambda w: _score(normalized, w))
    return f"{w.raw[:4]}-{w.raw[4:]}", w.start, w.end


def extract_code(text: str, expecting: bool) -> tuple[str | None, str]:
    """(code, text with the code replaced by :data:`CODE_PLACEHOLDER`) or (None, text).

    When the assistant asked for the code (``expecting``), a short answer that can be a code
    (one or two words, or characters with separators only, such as "K 7 Q M W X 3 O") is taken
    whole even when it is no valid code, so a mistyped code is not stored either. Words such
    as "annuleren" or "stop" are never a code."""
    if not isinstance(text, str) or not text:
        return None, text
    found = find_code(text, expecting)
    normalized = _bounded(text)
    if found is not None:
        code, start, end = found
        return code, normalized[:start] + CODE_PLACEHOLDER + normalized[end:]
    if expecting:
        tokens = _TOKEN_RE.findall(normalized)
        spaced = len(tokens) > 2 and all(len(t) <= 2 for t in tokens) and any(c.isdigit() for t in tokens for c in t)
        typed = normalize_code(normalized) if (0 < len(tokens) <= 2 or spaced) else None
        if (
            typed
            and len(typed) <= 16
            and not parse_aanvraagnummer(normalized)
            and (any(c.isdigit() for c in typed) or (set(typed) <= _ALPHABET and len(typed) == CODE_LENGTH))
        ):
            return typed, CODE_PLACEHOLDER
    return None, text
