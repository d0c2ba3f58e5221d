"""Aanvraagnummers and verificatiecodes.

* ``parse_aanvraagnummer`` (bot/core/extract.py) finds a number such as ``KW-2025-0042`` in free text ("onze aanvraag
  is kw 2025 0042", "KW.2025.0042", "kw20250042") and returns the canonical form, or None.
* Codes are hashed with Argon2id (argon2-cffi); verification is constant-time inside the
  Argon2 library, and an unknown number is answered after a dummy verification so its timing
  matches a wrong code. Nothing of a code is ever logged or put in an exception message.
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Finding numbers and codes in what people type is the extractor's (one place for every step
# and for the gateway's masking); re-exported here, where the status code has always found them.
from bot.core.extract import (
    CODE_ALPHABET,
    CODE_LENGTH,
    MAX_TEXT_CHARS,
    canonical_aanvraagnummer,
    extract_code,
    find_code,
    normalize_code,
    parse_aanvraagnummer,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "MAX_TEXT_CHARS",
    "canonical_aanvraagnummer",
    "dummy_verify",
    "extract_code",
    "find_code",
    "generate_code",
    "hash_code",
    "is_canonical",
    "normalize_code",
    "parse_aanvraagnummer",
    "verify_code",
]

_CANONICAL_RE = re.compile(r"^KW-20[0-9]{2}-[0-9]{4}$")

# OWASP's Argon2id minimum (m=19 MiB, t=2, p=1), as for the staff passwords (bot/handoff/staff.py).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def is_canonical(number: str | None) -> bool:
    return number is not None and bool(_CANONICAL_RE.match(number))


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


def verify_code(code: str | None, code_hash: str | None) -> bool:
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
    except Exception:  # a broken hash must not become an error path
        return False
    return bool(ok) and target is not _DUMMY_HASH


def dummy_verify() -> None:
    """Spend the time of one verification (used when the number is unknown)."""
    verify_code("-", None)
