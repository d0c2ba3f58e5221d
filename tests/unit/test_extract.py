"""The one extractor (bot/core/extract.py): contact details, aanvraagnummers and verificatiecodes
inside free sentences, and the masking that reads the same patterns."""

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.extract import (
    CODE_ALPHABET,
    CODE_PLACEHOLDER,
    contacts,
    extract_code,
    find_code,
    first_contact,
    parse_aanvraagnummer,
)
from bot.core.masking import EMAIL, PHONE, mask_personal_data


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("je kunt me bellen op 06-12345678", "phone", "0612345678"),
        ("stuur maar een mail naar piet@gemeente.nl, liever geen telefoon", "email", "piet@gemeente.nl"),
        ("tel: 010 123 4567", "phone", "0101234567"),
        ("Tel.: 010-1234567 (overdag)", "phone", "0101234567"),
        ("mail me op P.deVries@Zaanstad.NL graag", "email", "P.deVries@zaanstad.nl"),
        ("bereikbaar via +31 (0)6 1234 5678", "phone", "+31612345678"),
        ("0031 6 12 34 56 78 is mijn nummer", "phone", "+31612345678"),
        ("bel (020) 123 45 67 na vijven", "phone", "0201234567"),
        ("mijn nummer is ０６１２３４５６７８", "phone", "0612345678"),
    ],
)
def test_contact_details_inside_sentences(text, kind, value):
    found = first_contact(text)
    assert found is not None and (found.kind, found.value) == (kind, value)
    assert value not in repr(found)  # a contact in a log line or assertion message shows its kind only


def test_no_contact_in_numbers_that_are_not_one():
    for text in (
        "aanvraag KW-2025-0042",
        "2026-2028",
        "€ 400.000.000",
        "bel 0800-1234",
        "mijn BSN is 123456782",
        "NL91 ABNA 0417 1643 00",
        "jan@gemeente",
    ):
        assert contacts(text) == [], text


def test_several_contacts_in_the_order_typed():
    found = contacts("bel 06 12345678 of mail jan@gemeente.nl")
    assert [(c.kind, c.value) for c in found] == [("phone", "0612345678"), ("email", "jan@gemeente.nl")]


PREFIXES = st.sampled_from(["", "bel me op ", "Mijn gegevens: ", "je kunt me bereiken via ", "(tel: "])
MOBILE = st.text("0123456789", min_size=8, max_size=8).map(lambda d: "06" + d)
SEPARATED = st.tuples(MOBILE, st.sampled_from(["", " ", "-", ".", "/"]), st.integers(2, 6)).map(
    lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
)


@settings(max_examples=150, deadline=None)
@given(PREFIXES, SEPARATED)
def test_what_the_masking_hides_is_what_the_extractor_returns(prefix, number):
    text = f"{prefix}{number} graag"
    masked = mask_personal_data(text)
    found = contacts(text)
    assert masked.text.count(PHONE) == len([c for c in found if c.kind == "phone"]) == 1
    assert found[0].value == re.sub(r"\D", "", number)


@settings(max_examples=100, deadline=None)
@given(
    st.text("abcdefghijklmnopqrstuvwxyz.", min_size=1, max_size=10).filter(
        lambda s: s[0].isalpha() and s[-1].isalpha()
    ),
    st.sampled_from(["gemeente.nl", "example.com", "zaanstad.nl"]),
)
def test_emails_masked_are_emails_found(local, domain):
    text = f"stuur maar een mail naar {local}@{domain}, liever geen telefoon"
    assert mask_personal_data(text).text.count(EMAIL) == 1
    found = first_contact(text)
    assert found is not None and found.value == f"{local}@{domain}"


# -- verificatiecodes in any spelling (issue 21 M3) ---------------------------------------------

CODE = st.text(CODE_ALPHABET, min_size=8, max_size=8).filter(lambda c: any(ch.isalpha() for ch in c))
STRONG = st.sampled_from(["-", "_", ".", "/", "\\", "|", "–", "—", "−", " - ", " _ ", "·", "－", "＿", "／"])
GROUPS = st.sampled_from([(4, 4), (2, 2, 2, 2), (1,) * 8, (8,)])
CASE = st.sampled_from([str.upper, str.lower])
WIDE = {ord(c): chr(ord(c) + 0xFEE0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}
SENTENCES = st.sampled_from(
    [
        "{}",
        "de code is {}",
        "Mijn verificatiecode: {} graag",
        "{} is de code",
        "code {}",
        "hier is hij: {}. Dank je!",
        "ok {}",
    ]
)


def spell(code: str, groups, sep: str, case, wide: bool) -> str:
    parts, i = [], 0
    for n in groups:
        parts.append(code[i : i + n])
        i += n
    text = sep.join(parts)
    text = case(text)
    return text.translate(WIDE) if wide else text


def compact(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKC", text).upper())


@settings(max_examples=400, deadline=None)
@given(CODE, GROUPS, STRONG, CASE, st.booleans(), SENTENCES)
def test_a_code_with_any_separator_is_found_and_taken_out(code, groups, sep, case, wide, sentence):
    typed = spell(code, groups, sep, case, wide)
    text = sentence.format(typed)
    # A word of code letters in lower case ("kpwewxyv") is a code only in a sentence about the
    # code or alone: "hoeveel krijgt de gemeente?" holds no code.
    assume(
        any(ch.isdigit() for ch in code)
        or case is str.upper
        or len(groups) > 1
        or sentence.find("code") in range(0, sentence.find("{}"))
        or sentence in ("{}", "ok {}")
    )
    found, rest = extract_code(text, expecting=True)
    assert found == f"{code[:4]}-{code[4:]}", (text, found)
    assert CODE_PLACEHOLDER in rest
    assert code not in compact(rest.replace(CODE_PLACEHOLDER, " ")), rest


@settings(max_examples=300, deadline=None)
@given(
    CODE.filter(lambda c: any(ch.isdigit() for ch in c)),
    GROUPS,
    st.sampled_from([" ", "  ", "\u3000", "\u00a0", "-", "_", ".", "/"]),
    CASE,
    st.booleans(),
    SENTENCES,
)
def test_a_code_with_a_digit_is_found_in_a_sentence_also_when_not_asked(code, groups, sep, case, wide, sentence):
    text = sentence.format(spell(code, groups, sep, case, wide))
    assert extract_code(text, expecting=False)[0] == f"{code[:4]}-{code[4:]}", text


@pytest.mark.parametrize(
    "text",
    [
        "K7QM_WX3D",
        "K7QM-WX3D",
        "k7qm wx3d",
        "K 7 Q M W X 3 D",
        "ｋ７ｑｍ－ｗｘ３ｄ",
        "k7qm.wx3d",
        "K7QM/WX3D",
        "k 7 q m w x 3 d",
        "K7 QM WX 3D",
        "K7QM – WX3D",
    ],
)
def test_the_reported_spellings(text):
    for expecting in (True, False):
        found, rest = extract_code(f"de code is {text}, klopt dat?", expecting)
        assert found == "K7QM-WX3D" and rest == f"de code is {CODE_PLACEHOLDER}, klopt dat?", (text, expecting)


@pytest.mark.parametrize(
    "text",
    [
        "hoeveel krijgt de gemeente?",
        "waar gaat het geld naartoe?",
        "wat is de deadline?",
        "ik heb 2 vragen over 4 thema's",
        "aanvraag KW-2026-4793",
        "KW 2026 4793",
        "bel 06 12345678",
        "voor 2026-2028 is er € 400.000.000",
        "mail k7qm.wx3d@gmail.com",
        "dat was het, tot ziens",
        "ABCD-EFGH-JKMN",
        "we hebben 3 kinderen",
        "tot ziens",
    ],
)
def test_no_code_where_there_is_none(text):
    assert find_code(text, expecting=False) is None, text


@pytest.mark.parametrize(
    "text",
    [
        "doei",
        "dat was het",
        "bedankt, tot ziens",
        "weet ik niet",
        "stop",
        "annuleren",
        "ik heb 2 keer",
        "waar gaat de code heen?",
        "hoeveel krijgt de gemeente?",
    ],
)
def test_words_at_the_code_step_are_no_code(text):
    assert extract_code(text, expecting=True)[0] is None, text


@pytest.mark.parametrize(
    "text, code",
    [
        ("of BBBB-5555", "BBBB-5555"),
        ("dan CCCC-6666", "CCCC-6666"),
        ("de code is K7QM-WX3O", "K7QM-WX3O"),
        ("k7qm wx30 toch?", "K7QM-WX30"),
    ],
)
def test_a_code_with_look_alikes_is_taken_out_when_asked_for(text, code):
    found, rest = extract_code(text, expecting=True)
    assert found == code and CODE_PLACEHOLDER in rest and code[:4] not in rest.upper()
    assert extract_code("bel 06 12345678", expecting=True)[0] is None
    assert extract_code("aanvraag KW-2026-4793", expecting=True)[0] is None


def test_a_mistyped_code_is_taken_out_when_asked_for():
    # O is not in the code alphabet: a wrong code, but still never passed on as text.
    found, rest = extract_code("K 7 Q M W X 3 O", expecting=True)
    assert found == "K7QM-WX3O" and rest == CODE_PLACEHOLDER


def test_aanvraagnummer_in_a_sentence():
    assert parse_aanvraagnummer("ons nummer is kw 2025 0042, graag de status") == "KW-2025-0042"
