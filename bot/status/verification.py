"""Aanvraagnummers and verificatiecodes.

* ``parse_aanvraagnummer`` finds a number such as ``KW-2025-0042`` in free text ("onze aanvraag
  is kw 2025 0042", "KW.2025.0042", "kw20250042") and returns the canonical form, or None.
* Codes are hashed with Argon2id (argon2-cffi); verification is constant-time inside the
  Argon2 library, and an unknown number is answered after a dummy verification so its timing
  matches a wrong code. Nothing of a code is ever logged or put in an exception message.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Longest text that is searched for a number (the gateway limits messages far below this).
MAX_TEXT_CHARS = 10_000

# Separators people type between the parts: spaces, dashes of all kinds, dots, slashes, _.
_SEP = r"[\s.\-_/\u2010-\u2015\u2212]*"
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9])[Kk]" + r"[\s.\-]?" + r"[Ww]" + _SEP + r"(20[0-9]{2})" + _SEP
    # Four digits, or fewer after a separator ("KW-2025-42" is KW-2025-0042).
    + r"([0-9]{4}|(?<=[\s.\-_/\u2010-\u2015\u2212])[0-9]{1,3})(?![0-9])"
)
_CANONICAL_RE = re.compile(r"^KW-20[0-9]{2}-[0-9]{4}$")

#: Code alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8
_CODE_RE = re.compile(r"^[A-Z0-9]{6,64}$")

# OWASP's Argon2id minimum (m=19 MiB, t=2, p=1): ~20 ms per verification.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def _normalize_text(text: str) -> str:
    # NFKC folds full-width letters/digits (ＫＷ２０２５…) to ASCII.
    return unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS])


def parse_aanvraagnummer(text: Optional[str]) -> Optional[str]:
    """The canonical ``KW-YYYY-NNNN`` found in ``text``, or None.

    Tolerates case, spaces, dashes, dots and surrounding words. Returns None when there is no
    number, or when two different numbers occur (ambiguous).
    """
    if not text or not isinstance(text, str):
        return None
    found = {
        f"KW-{m.group(1)}-{int(m.group(2)):04d}" for m in _NUMBER_RE.finditer(_normalize_text(text))
    }
    if len(found) != 1:
        return None
    return found.pop()


def canonical_aanvraagnummer(text: Optional[str]) -> Optional[str]:
    """Strict variant for the back-office feed: the whole text must be one number.

    ``" kw-2025-0042 "`` → ``"KW-2025-0042"``; ``"KW-2025-0042' OR 1=1"`` → None.
    """
    if not text or not isinstance(text, str) or len(text) > 40:
        return None
    normalized = _normalize_text(text).strip()
    match = _NUMBER_RE.fullmatch(normalized)
    if not match or len(match.group(2)) != 4:  # the back office writes all four digits
        return None
    return f"KW-{match.group(1)}-{int(match.group(2)):04d}"


def is_canonical(number: Optional[str]) -> bool:
    return bool(number) and bool(_CANONICAL_RE.match(number))


def normalize_code(code: Optional[str]) -> Optional[str]:
    """Upper case, without spaces and dashes; None when it cannot be a code at all."""
    if not code or not isinstance(code, str) or len(code) > 200:
        return None
    cleaned = re.sub(r"[\s\-.\u2010-\u2015]", "", unicodedata.normalize("NFKC", code)).upper()
    if not _CODE_RE.match(cleaned):
        return None
    return cleaned


# A code inside a sentence: four and four characters of the code alphabet, with a letter and a
# digit (so years, periods and aanvraagnummers never match), e.g. "de code is kpwe-w74v".
_CODE_IN_TEXT_RE = re.compile(r"(?<![A-Za-z0-9-])([A-Za-z0-9]{4})[\s\-.\u2010-\u2015]?([A-Za-z0-9]{4})(?![A-Za-z0-9-])")


def _looks_generated(raw: str, need_digit: bool) -> bool:
    return (set(raw) <= set(CODE_ALPHABET) and any(c.isalpha() for c in raw)
            and (not need_digit or any(c.isdigit() for c in raw)))


def _candidates(text: str):
    """Every 4+4 match, overlapping ones too ("code kpwe w74v" holds "code kpwe" and "kpwe w74v")."""
    pos = 0
    while True:
        m = _CODE_IN_TEXT_RE.search(text, pos)
        if m is None:
            return
        yield m
        pos = m.start() + 1


def extract_code(text: str, expecting: bool) -> Tuple[Optional[str], str]:
    """(code, text with the code replaced by ``placeholder``) or (None, text).

    ``expecting``: the assistant just asked for the code, so a short answer that can be a code
    (one or two words, letters and digits) is taken whole. Otherwise only a code in the form
    the back office issues (four and four characters of the code alphabet, e.g. K7QM-WX3D) is taken out of a sentence.
    Words such as "annuleren" or "stop" are never a code."""
    from bot.status.coderefs import PLACEHOLDER

    if not isinstance(text, str) or not text:
        return None, text
    normalized = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS])
    short = len(normalized.split()) <= 2
    for m in _candidates(normalized):
        raw = (m.group(1) + m.group(2)).upper()
        # Inside a longer sentence a code without digits must look typed as a code (split in
        # two, or in capitals): "gemeente" or "deadline" in "hoeveel krijgt de gemeente?" is no code.
        # Two words ("waar gaat") are no code: only a dash or dot between the halves counts.
        dashed = bool(m.group(0)[4:-4].strip())
        written_as_code = dashed or m.group(0).isupper()
        # Not asked for, a code needs a digit or the back office's form "ABCD-EFGH".
        need_digit = (not expecting and not dashed) or (not short and not written_as_code)
        if _looks_generated(raw, need_digit=need_digit) and not parse_aanvraagnummer(m.group(0)):
            return f"{raw[:4]}-{raw[4:]}", normalized[:m.start()] + PLACEHOLDER + normalized[m.end():]
    if expecting:
        words = normalized.split()
        code = normalize_code(normalized) if 0 < len(words) <= 2 else None
        if code and not parse_aanvraagnummer(normalized) and (
                any(c.isdigit() for c in code) or _looks_generated(code, need_digit=False) and len(code) == CODE_LENGTH):
            return code, PLACEHOLDER
    return None, text


def generate_code() -> str:
    """A new verificatiecode such as ``K7QM-WX3D`` (8 characters, ~37 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def hash_code(code: str) -> str:
    """Argon2id hash of the normalised code; raises ValueError for something that is no code."""
    normalized = normalize_code(code)
    if normalized is None:
        raise ValueError("ongeldige verificatiecode")  # never includes the code itself
    return _hasher.hash(normalized)


def verify_code(code: Optional[str], code_hash: Optional[str]) -> bool:
    """True when ``code`` matches ``code_hash``. Never raises, never logs.

    Always performs one Argon2 verification (against a dummy hash when there is no stored hash
    or the code is malformed), so timing does not reveal which part was wrong.
    """
    normalized = normalize_code(code)
    target = code_hash if (code_hash and normalized is not None) else _DUMMY_HASH
    candidate = normalized if normalized is not None else "-"
    try:
        ok = _hasher.verify(target, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    except Exception:  # noqa: BLE001 - a broken hash must not become an error path
        return False
    return bool(ok) and target is not _DUMMY_HASH


def dummy_verify() -> None:
    """Spend the time of one verification (used when the number is unknown)."""
    verify_code("-", None)
