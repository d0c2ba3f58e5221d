"""Masking of personal data for display and logs; the encrypted contact value."""

import pytest
from cryptography.fernet import Fernet

from bot.handoff import privacy
from bot.handoff.privacy import (
    ContactCipher,
    InvalidContact,
    mask_contact,
    mask_text,
    normalize_contact,
)


def test_mask_text_is_the_one_masker():
    from bot.core import masking

    assert privacy.mask_text is masking.mask_text
    text = (
        "Mail jan.jansen@example.nl of bel 06-12345678, BSN 111222333, "
        "IBAN NL91 ABNA 0417 1643 00, aanvraag KW-2025-0042."
    )
    masked = mask_text(text)
    for secret in ("jan.jansen", "12345678", "111222333", "0417"):
        assert secret not in masked
    assert "[e-mailadres]" in masked and "[telefoonnummer]" in masked
    assert "[BSN]" in masked and "[IBAN]" in masked
    assert "KW-2025-0042" in masked
    assert mask_text(masked) == masked  # idempotent
    assert mask_text(None) == "" and mask_text("") == ""


@pytest.mark.parametrize(
    "value, kind, normalized, shown",
    [
        ("Jan.Jansen@Example.NL", "email", "Jan.Jansen@example.nl", "J•••@e•••.nl"),
        ("  a@b.co ", "email", "a@b.co", "a•••@b•••.co"),
        ("06-12345678", "telefoon", "0612345678", "•••••••678"),
        ("(020) 123 45 67", "telefoon", "0201234567", "•••••••567"),
        ("+31 6 1234 5678", "telefoon", "+31612345678", "+••••••••678"),
        ("0032 2 123 45 67", "telefoon", "+3221234567", "+•••••••567"),
    ],
)
def test_normalize_and_mask_contact(value, kind, normalized, shown):
    contact = normalize_contact(value)
    assert contact is not None
    assert (contact.kind, contact.value, contact.masked) == (kind, normalized, shown)
    assert mask_contact(kind, normalized) == shown
    # The repr never shows the value.
    assert normalized not in repr(contact) and normalized not in str(contact)


@pytest.mark.parametrize(
    "value", ["geen idee", "jan@", "@example.nl", "12345", "06-1234567", "0612345678901", "jan@example", "x" * 300]
)
def test_invalid_contacts_are_refused_without_echoing_them(value):
    with pytest.raises(InvalidContact) as info:
        normalize_contact(value)
    assert value not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_contact_is_none():
    assert normalize_contact(None) is None
    assert normalize_contact("   ") is None
    assert mask_contact("email", None) is None


def test_contact_cipher_round_trip_wrong_key_and_rotation():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    cipher = ContactCipher(old)
    token = cipher.encrypt("jan@example.nl")
    assert "jan" not in token and "example" not in token
    assert cipher.decrypt(token) == "jan@example.nl"
    assert ContactCipher(new).decrypt(token) is None
    assert cipher.decrypt("garbage") is None
    assert repr(cipher) == "<ContactCipher>"
    # Rotation: the new key in front; old tokens still open, and re-encrypt under the new key.
    rotated = ContactCipher([new, old])
    assert rotated.decrypt(token) == "jan@example.nl"
    fresh = rotated.rotate(token)
    assert ContactCipher(new).decrypt(fresh) == "jan@example.nl"
    assert ContactCipher(old).decrypt(rotated.encrypt("x@example.nl")) is None
