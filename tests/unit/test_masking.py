"""Masking holds for the spellings people really use: property-based (hypothesis)."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.extract import elfproef, iban_valid
from bot.core.masking import BSN, EMAIL, IBAN, PHONE, mask_personal_data

SEPARATORS = st.sampled_from(["", " ", "-", ".", "/", " - "])
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _join(digits: str, seps, cuts) -> str:
    out, last = [], 0
    for cut, sep in zip(sorted(set(cuts)), seps, strict=False):  # separators to spare
        out.append(digits[last:cut] + sep)
        last = cut
    out.append(digits[last:])
    return "".join(out)


def grouped(digits: str):
    """`digits` with a separator (possibly none) between any digits."""
    n = len(digits)
    return st.tuples(st.lists(st.integers(1, n - 1), max_size=4), st.lists(SEPARATORS, min_size=4, max_size=4)).map(
        lambda t: _join(digits, t[1], t[0])
    )


@st.composite
def dutch_mobile(draw):
    digits = "6" + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=8, max_size=8)))
    prefix = draw(st.sampled_from(["0", "+31 ", "+31", "0031 ", "+31 (0)", "(0"]))
    body = draw(grouped(digits))
    if prefix == "(0":
        return f"(0{digits[0]}) {digits[1:]}"
    return prefix + body


def _weighted_sum(first8: str) -> int:
    """The elfproef's sum over a BSN's first eight digits."""
    return sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))


def _with_check_digit(first8: str) -> str:
    return first8 + str(_weighted_sum(first8) % 11)


@st.composite
def bsn(draw):
    first8 = draw(
        st.text("0123456789", min_size=8, max_size=8).filter(lambda s: s[0] != "0" and _weighted_sum(s) % 11 < 10)
    )
    digits = _with_check_digit(first8)
    assert elfproef(digits)
    return draw(grouped(digits))


def _iban_for(bank: str, account: str) -> str:
    for check in range(2, 99):
        candidate = f"NL{check:02d}{bank}{account}"
        if iban_valid(candidate):
            return candidate
    raise AssertionError("no check digits")


@st.composite
def iban(draw):
    bank = draw(st.sampled_from(["ABNA", "INGB", "RABO", "TRIO", "SNSB"]))
    account = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=10, max_size=10)))
    compact = _iban_for(bank, account)
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    text = sep.join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return draw(st.sampled_from([text, text.lower()]))


LETTERS = "abcdefghijklmnopqrstuvwxyzåäöüéèëïçñ"
email = st.builds(
    lambda local, dom, tld: f"{local}@{dom}.{tld}",
    st.text(LETTERS + "0123456789", min_size=1, max_size=12).filter(lambda s: s[0].isalpha()),
    st.text(LETTERS, min_size=2, max_size=10),
    st.sampled_from(["nl", "com", "eu", "frl"]),
)
CONTEXT = st.sampled_from(["", "Mijn gegevens: ", "bel of mail me op ", "Hoi, ", "(zie "])


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@settings(max_examples=150, deadline=None)
@given(CONTEXT, dutch_mobile(), st.booleans())
def test_phone_numbers_in_any_spelling_are_masked(before, number, wide):
    spelled = number.translate(FULLWIDTH) if wide else number
    out = mask_personal_data(f"{before}{spelled} graag.").text
    assert PHONE in out, (spelled, out)
    assert _digits(number)[-8:] not in _digits(out)


@settings(max_examples=150, deadline=None)
@given(CONTEXT, bsn())
def test_bsn_in_any_grouping_is_masked(before, value):
    out = mask_personal_data(f"{before}{value}").text
    assert BSN in out, (value, out)
    assert _digits(value) not in _digits(out)


@settings(max_examples=100, deadline=None)
@given(CONTEXT, iban())
def test_iban_with_separators_is_masked(before, value):
    out = mask_personal_data(f"{before}{value}.").text
    assert IBAN in out, (value, out)
    assert _digits(value)[-6:] not in _digits(out)


@settings(max_examples=100, deadline=None)
@given(CONTEXT, email)
def test_email_with_non_ascii_letters_is_masked(before, address):
    out = mask_personal_data(f"{before}{address}").text
    assert EMAIL in out and "@" not in out, (address, out)


def test_the_reported_spellings():
    for text in (
        "06/12345678",
        "123-456-782",
        "jån@example.nl",
        "０６１２３４５６７８",
        "NL91-ABNA-0417-1643-00",
        "+31 (0)6-1234 5678",
        "06.12.34.56.78",
    ):
        out = mask_personal_data(text).text
        assert out.startswith("[") and out.endswith("]") and len(out) < 20, (text, out)
    assert mask_personal_data("NL91-ABNA-0417-1643-00").text == IBAN


@settings(max_examples=200, deadline=None)
@given(st.integers(2000, 2099), st.integers(0, 9999), st.integers(1, 999))
def test_aanvraagnummers_years_and_amounts_stay(year, seq, millions):
    text = f"Aanvraag KW-{year}-{seq:04d} voor {year}-{year + 2}: € {millions}.000.000 of {millions},5 mln euro"
    masked = mask_personal_data(text)
    assert masked.text == text and not masked.changed
