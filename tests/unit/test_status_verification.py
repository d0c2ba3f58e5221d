"""Aanvraagnummers, verificatiecodes and the status catalogue (no database)."""

import re

import pytest

from bot.status import statuses
from bot.status.verification import (
    canonical_aanvraagnummer,
    extract_code,
    generate_code,
    hash_code,
    is_canonical,
    normalize_code,
    parse_aanvraagnummer,
    verify_code,
)


@pytest.mark.parametrize(
    "text",
    [
        "KW-2025-0042",
        "kw-2025-0042",
        "Kw 2025 0042",
        "KW 2025-0042",
        "kw.2025.0042",
        "KW20250042",
        "KW–2025–0042",  # en dashes
        "K W - 2025 - 0042",
        "ＫＷ－２０２５－００４２",  # full-width
        "Hoe staat het met onze aanvraag KW-2025-0042?",
        "ons nummer is kw 2025 0042, graag de status",
        "(KW-2025-0042)",
        "nummer:KW-2025-0042.",
        "KW-2025-0042 🙂",
        "aanvraag KW-2025-0042 en nog eens KW 2025 0042",  # the same number twice
    ],
)
def test_parse_finds_the_number(text):
    assert parse_aanvraagnummer(text) == "KW-2025-0042"


@pytest.mark.parametrize("text", ["KW-2025-42", "kw 2025 042", "het is kw-2025-42.", "KW/2025/42"])
def test_parse_pads_a_short_number_after_a_separator(text):
    assert parse_aanvraagnummer(text) == "KW-2025-0042"


@pytest.mark.parametrize(
    "text, expecting, code",
    [
        ("De code is KPWE-W74V.", False, "KPWE-W74V"),
        ("de code is kpwe w74v", True, "KPWE-W74V"),
        ("mijn code is KPWEWXYV", True, "KPWE-WXYV"),
        ("hoeveel krijgt de gemeente?", True, None),  # a Dutch word of code letters
        ("wat is de deadline?", True, None),
        ("annuleren", True, None),
        ("waar gaat het geld naartoe?", False, None),  # two words of code letters
        ("waar gaat het geld naartoe?", True, None),
        ("de code is KPWE-WXYV", False, "KPWE-WXYV"),
    ],
)
def test_extract_code_in_sentences(text, expecting, code):
    assert extract_code(text, expecting)[0] == code


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "hoe staat het met onze aanvraag?",
        "KW-202542",
        "KW-2025-00421",
        "KW-25-0042",
        "XKW-2025-0042",
        "KV-2025-0042",
        "KW-1999-0042",
        "12345678",
        "'; DROP TABLE status_applications; --",
        "' OR '1'='1",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "%27%20OR%201%3D1",
        "🙂🙂🙂",
        "KW-2025-0042 en KW-2025-0043",  # two different numbers: ambiguous
        "x" * 10_000,
    ],
)
def test_parse_rejects(text):
    assert parse_aanvraagnummer(text) is None


def test_parse_long_message_is_bounded():
    # A 10 kB message: the number is found when it is early, and parsing stays quick.
    text = "KW-2025-0042 " + "bla " * 2500
    assert parse_aanvraagnummer(text) == "KW-2025-0042"
    assert parse_aanvraagnummer(123) is None  # type: ignore[arg-type]  # not text at all


def test_canonical_is_strict():
    assert canonical_aanvraagnummer(" kw-2025-0042 ") == "KW-2025-0042"
    assert canonical_aanvraagnummer("KW 2025 0042") == "KW-2025-0042"
    for bad in (
        "KW-2025-0042' OR 1=1 --",
        "<b>KW-2025-0042</b>",
        "aanvraag KW-2025-0042",
        "KW-2025-0042;",
        "",
        None,
        "KW-2025-0042" + " " * 50,
    ):
        assert canonical_aanvraagnummer(bad) is None, bad
    assert is_canonical("KW-2025-0042")
    assert not is_canonical("kw-2025-0042")


def test_generated_codes_are_random_and_well_formed():
    codes = {generate_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
        assert not set(code) & set("0O1IL5S2Z8B")
        assert normalize_code(code) == code.replace("-", "")


def test_hash_and_verify():
    code = generate_code()
    hashed = hash_code(code)
    assert hashed.startswith("$argon2id$")
    assert code not in hashed and code.replace("-", "") not in hashed
    assert hash_code(code) != hashed  # salted
    assert verify_code(code, hashed)
    # Tolerant of case, spaces and dashes as typed by a person.
    assert verify_code(" " + code.lower().replace("-", " ") + " ", hashed)
    assert not verify_code("AAAA-AAAA", hashed)
    assert not verify_code("", hashed)
    assert not verify_code(None, hashed)
    assert not verify_code("<script>", hashed)
    assert not verify_code(code, None)
    assert not verify_code(code, "not-a-hash")


def test_normalize_code_rejects_junk():
    assert normalize_code("abcd efgh") == "ABCDEFGH"
    for bad in (None, "", "abc", "' OR 1=1 --", "<b>abcdefg</b>", "x" * 300, "🙂🙂🙂🙂🙂🙂"):
        assert normalize_code(bad) is None
    with pytest.raises(ValueError) as info:
        hash_code("ab")
    assert "ab" not in str(info.value).replace("aanvraag", "")


def test_status_catalogue_is_complete_and_plain_dutch():
    expected = {
        "ontvangen",
        "in_behandeling",
        "aanvulling_nodig",
        "besluit_toegekend",
        "besluit_deels_toegekend",
        "besluit_afgewezen",
        "bevoorschot",
        "uitbetaald",
        "wijziging_in_behandeling",
        "vastgesteld",
        "ingetrokken",
    }
    assert set(statuses.CODES) == expected
    for status in statuses.all_statuses():
        assert status.label and status.explanation and status.next_step
        for text in (status.explanation, status.next_step):
            # je/jij, never the formal u/uw.
            assert not re.search(r"\b(u|uw|U|Uw)\b", text), (status.code, text)
            # No invented terms or dates.
            assert not re.search(r"\b\d+\s*(dagen|weken|maanden)\b", text), (status.code, text)
    found = [statuses.find(name) for name in ("Aanvulling nodig", "IN-BEHANDELING", "klaar")]
    assert [s.code if s else None for s in found] == ["aanvulling_nodig", "in_behandeling", None]
    assert statuses.is_valid("vastgesteld") and not statuses.is_valid("klaar")
