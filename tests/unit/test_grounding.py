"""What a composed answer may claim (bot/knowledge/grounding.py), held to the knowledge base.

Property tests over generated questions: every gemeente of the Netherlands (the CBS list in
bot/knowledge/gemeenten_nl.txt), invented district names, years 2020-2035 and amounts, in
several templates and intents, answered by bot.knowledge.render.answer_for directly. No answer
says "Ja" to something the facts do not cover, carries a year or amount the knowledge base does
not carry (unless it says that one is not in the sources), or lets a gemeente outside the 19
take part; both places of a two-place question are addressed.
"""

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge import grounding
from bot.knowledge.loader import get_knowledge_base, normalise
from bot.knowledge.places import COMMON_WORD_PLACES, GEMEENTEN_FILE, find, national_gemeenten
from bot.texts import KNOWLEDGE_REPLY
from tests.fixtures.knowledge import reply_to

KB = get_knowledge_base()
NPLV = {g.name: g for g in KB.gemeenten}
NPLV_NORM = {normalise(g.name) for g in KB.gemeenten} | {a for g in KB.gemeenten for a in g.aliases}
CBS = sorted(set(national_gemeenten().values()))
OUTSIDE = [n for n in CBS if normalise(n) not in NPLV_NORM and "(" not in n]
ALL_PLACES = sorted(NPLV) + OUTSIDE
# 60 generated questions per property in the suite; KW_HYPOTHESIS_EXAMPLES=1500 for a deeper run.
SETTINGS = settings(
    max_examples=int(os.environ.get("KW_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def kb_texts():
    for a in KB.answers.values():
        yield a.text
    for t in KB.themes:
        yield t.text
    for e in KB.examples.values():
        yield e.text
    for m in KB.ministries:
        yield m.text or m.amount or ""
    yield KB.helpdesk.text
    yield from (v for v in KNOWLEDGE_REPLY.values())


KB_YEARS = set().union(*(grounding.covered_years(t) for t in kb_texts()))
KB_AMOUNTS = {a.value for t in kb_texts() for a in grounding.amounts_in(t)}
NEGATIVE = ("niet in mijn bronnen", "niet bekend", "valt daar niet onder", "niet per jaar", "geen NPLV-focusgebied")


def sentences(text):
    return [s for s in re.split(r"(?<=[.?!])\s+|\n+", text) if s.strip()]


def negative(sentence):
    return sentence.startswith("Nee") or any(n in sentence for n in NEGATIVE)


def says_yes(text):
    return any(re.match(r"\**Ja\b", s.strip()) for s in sentences(text))


OUTSIDE_WORDS = [normalise(n) for n in OUTSIDE if normalise(n) not in COMMON_WORD_PLACES]


def assert_claims_only_what_the_kb_carries(text, named_years=(), named_amounts=(), question=""):
    """Every year and amount in an answer is one the knowledge base carries; one the user named
    that it does not carry appears only where the answer says it is not in the sources. No
    gemeente outside the 19 appears unless the user named it."""
    plain = f" {normalise(text.replace('*', ' '))} "
    asked = f" {normalise(question)} "
    for name in OUTSIDE_WORDS:
        if f" {name} " in plain:
            assert f" {name} " in asked, (name, text)
    for sentence in sentences(text):
        for year in grounding.years_in(sentence):
            if year not in KB_YEARS:
                assert year in named_years and negative(sentence), (year, sentence)
        for amount in grounding.amounts_in(sentence):
            if amount.value not in KB_AMOUNTS:
                assert amount.value in named_amounts and negative(sentence), (amount, sentence)


def reply(intent, question):
    r = reply_to(KB, intent, question)
    assert r is not None, intent
    return r.text


def mentions(text, name):
    return f" {normalise(name)} " in f" {normalise(text)} "


# -- every gemeente of the Netherlands ---------------------------------------------------------

PLACE_TEMPLATES = [
    ("faq_gebieden", "Is {g} een NPLV-focusgebied?"),
    ("faq_gebieden", "Doet {g} mee?"),
    ("faq_gebieden", "Welke wijken in {g} doen mee?"),
    ("faq_wie_aanvragen", "Mag {g} een aanvraag doen?"),
    ("faq_inwoners", "Hoeveel mensen wonen er in {g}?"),
    ("faq_bedrag_gemeente", "Hoeveel krijgt {g}?"),
    ("faq_bedrag_gemeente", "Hoeveel geld krijgt de gemeente {g}?"),
    ("faq_themas", "Welke thema's kiest {g}?"),
    ("faq_voorbeelden", "Wat doet {g} met het geld?"),
    ("faq_doorschuiven", "Mag {g} geld doorschuiven naar een later jaar?"),
    ("faq_looptijd", "Voor welke jaren krijgt {g} geld?"),
    ("faq_wat_is", "Wat is de SPUK Kansrijke Wijk voor {g}?"),
]


def test_the_list_holds_every_gemeente_of_the_netherlands():
    assert len(CBS) >= 342  # plus plain forms of "Bergen (L.)" and "Bergen (NH.)"
    lines = GEMEENTEN_FILE.read_text(encoding="utf-8").splitlines()
    names = [line for line in lines if line and not line.startswith("#")]
    assert len(names) == len(set(names)) == 342
    assert set(NPLV) - {"Den Haag"} <= set(names) and "'s-Gravenhage" in names
    for gone in ("Weesp", "Brielle", "Uden", "Heerhugowaard", "Appingedam"):
        assert gone not in names  # merged before 2025


@SETTINGS
@given(st.sampled_from(OUTSIDE), st.sampled_from(PLACE_TEMPLATES))
def test_a_gemeente_outside_the_19_never_takes_part(g, template):
    intent, question = template
    q = question.format(g=g)
    text = reply(intent, q)
    plain = re.sub(r"\s*\(.*?\)", "", g)
    assert mentions(text, plain) and "geen NPLV-focusgebied" in text, text
    assert not says_yes(text), text
    for other in NPLV.values():  # no area of the 19 is offered as if it were the gemeente's
        for area in other.areas:
            assert f"**{area.name}** (gemeente" not in text, text
    assert_claims_only_what_the_kb_carries(text, question=q)


@SETTINGS
@given(st.sampled_from(sorted(NPLV)), st.sampled_from(PLACE_TEMPLATES))
def test_an_nplv_gemeente_is_answered_with_its_own_areas(g, template):
    intent, question = template
    text = reply(intent, question.format(g=g))
    assert "geen NPLV-focusgebied" not in text, text
    if intent in ("faq_gebieden", "faq_wie_aanvragen", "faq_inwoners"):
        assert any(a.name in text for a in NPLV[g].areas), text
    assert_claims_only_what_the_kb_carries(text)


# -- invented districts ------------------------------------------------------------------------

DISTRICT = st.from_regex(
    r"\A[BDFHKLMPRTVWZ][aeiou][bdfklmnprstvz][aeiou][bdfklmnprst](hof|dorp|veld|kwartier|hoek|park|akker)\Z"
)
DISTRICT_TEMPLATES = [
    ("faq_gebieden", "is {g_low} {d_low} een focusgebied"),
    ("faq_gebieden", "hoort {d_low} in {g_low} erbij"),
    ("faq_gebieden", "Is {g} {d} een focusgebied?"),
    ("faq_gebieden", "Hoort {d} in {g} erbij?"),
    ("faq_gebieden", "Is {d} in {g} een NPLV-gebied?"),
    ("faq_gebieden", "Valt de wijk {d} in {g} eronder?"),
    ("faq_wie_aanvragen", "Mag {g} {d} aanvragen?"),
    ("faq_inwoners", "Hoeveel mensen wonen in {g} {d}?"),
    ("faq_bedrag_gemeente", "Hoeveel krijgt {g} {d}?"),
    ("faq_voorbeelden", "Wat doet {g} {d} met het geld?"),
    ("faq_themas", "Welke thema's kiest {d} in {g}?"),
    ("faq_doorschuiven", "Mag {g} {d} geld doorschuiven?"),
    ("faq_looptijd", "Krijgt {g} {d} geld tot en met 2028?"),
]


def _invented(name):
    n = normalise(name)
    return n not in national_gemeenten() and not find(KB, name).any_place


@SETTINGS
@given(st.sampled_from(sorted(NPLV)), DISTRICT.filter(_invented), st.sampled_from(DISTRICT_TEMPLATES))
def test_a_district_is_never_confirmed(g, district, template):
    intent, question = template
    text = reply(intent, question.format(g=g, d=district, g_low=g.lower(), d_low=district.lower()))
    assert district in text and "niet in mijn bronnen" in text, text
    assert not says_yes(text), text
    assert any(a.name in text for a in NPLV[g].areas), text  # the gemeente's own area is named
    assert_claims_only_what_the_kb_carries(text)


@pytest.mark.parametrize(
    "question, gemeente, district",
    [
        ("Is Tilburg Reeshof een focusgebied?", "Tilburg", "Reeshof"),
        ("Hoort Amsterdam Noord erbij?", "Amsterdam", "Amsterdam Noord"),
        ("Hoort de Schilderswijk in Den Haag erbij?", "Den Haag", "Schilderswijk"),
        ("Is Oud-Zuid in Amsterdam een focusgebied?", "Amsterdam", "Oud-Zuid"),
        ("is tilburg reeshof een focusgebied", "Tilburg", "Reeshof"),
        ("hoort reeshof in tilburg erbij", "Tilburg", "Reeshof"),
        ("is oud-zuid in amsterdam een focusgebied", "Amsterdam", "Oud-Zuid"),
        ("doet amsterdam oud-zuid mee", "Amsterdam", "Oud-Zuid"),
        ("is tilburg-reeshof een nplv gebied", "Tilburg", "Reeshof"),
    ],
)
def test_named_districts_of_the_issue(question, gemeente, district):
    text = reply("faq_gebieden", question)
    g = NPLV[gemeente]
    areas = KNOWLEDGE_REPLY["one_area"] if len(g.areas) == 1 else KNOWLEDGE_REPLY["more_areas"]
    assert text.startswith(f"In {gemeente} {areas} **{g.areas[0].name}**"), text
    assert f"of {district}" in text or f"of {gemeente} {district}" in text, text
    assert "daarbij hoort, staat niet in mijn bronnen" in text and not says_yes(text)


@pytest.mark.parametrize(
    "question, area",
    [
        ("Is Tilburg NoordWest een NPLV-gebied?", "Tilburg NoordWest"),
        ("Is Overvecht in Utrecht een focusgebied?", "Utrecht Overvecht"),
        ("Hoort Rotterdam-Zuid erbij?", "Rotterdam-Zuid"),
        ("Is Den Haag Zuidwest een focusgebied?", "Den Haag Zuidwest"),
        ("Doet Amsterdam Nieuw-West mee?", "Amsterdam Nieuw-West"),
        ("Is Schiedam Nieuwland en Oost een focusgebied?", "Schiedam Nieuwland en Oost"),
    ],
)
def test_an_area_s_own_name_is_still_a_yes(question, area):
    text = reply("faq_gebieden", question)
    assert text.startswith(f"Ja, **{area}**") and "niet in mijn bronnen" not in text, text


@pytest.mark.parametrize(
    "question",
    [
        "Welke wijken in Amsterdam doen mee?",
        "Doet Tilburg mee?",
        "Welk gebied in Utrecht doet mee?",
        "Hoeveel krijgt Rotterdam precies?",
        "Hoeveel mensen wonen er in Rotterdam?",
        "Is Arnhem part of this?",
    ],
)
def test_ordinary_words_next_to_a_gemeente_are_no_district(question):
    assert not find(KB, question).districts, question


# -- years -------------------------------------------------------------------------------------

SPENDING = [
    "Mag het geld in {y} nog op?",
    "Kunnen we in {y} nog geld uitgeven?",
    "Mogen we het geld in {y} nog besteden?",
    "Kunnen we geld doorschuiven en in {y} gebruiken?",
]
PERIOD = [
    "Geldt de regeling ook in {y}?",
    "Is er in {y} geld?",
    "Loopt de regeling in {y}?",
    "Kan ik in {y} nog aanvragen?",
    "Kon je in {y} aanvragen?",
    "Wat gebeurt er in {y}?",
]
YEAR_INTENTS = [
    "faq_looptijd",
    "faq_doorschuiven",
    "faq_aanvragen_vanaf",
    "faq_deadline",
    "faq_budget_totaal",
    "faq_wat_is",
    "faq_toekenning",
]


@SETTINGS
@given(st.integers(2020, 2035), st.sampled_from(SPENDING), st.sampled_from(YEAR_INTENTS))
def test_spending_after_2028_is_nee(year, template, intent):
    text = reply(intent, template.format(y=year))
    assert not says_yes(text) or 2026 <= year <= 2028, text
    if year >= 2029:
        assert text.startswith(f"Nee, in {year} niet.") and "tot en met 2028" in text, text
    assert_claims_only_what_the_kb_carries(text, named_years={year})


@SETTINGS
@given(st.integers(2020, 2035), st.sampled_from(PERIOD), st.sampled_from(YEAR_INTENTS))
def test_a_year_no_fact_covers_is_said_to_be_not_in_the_sources(year, template, intent):
    text = reply(intent, template.format(y=year))
    body = reply_to(KB, intent).text
    if year not in grounding.covered_years(body):
        assert not says_yes(text) and "niet in mijn bronnen" in text, text
    assert_claims_only_what_the_kb_carries(text, named_years={year})


# -- amounts -----------------------------------------------------------------------------------

AMOUNT_TEMPLATES = [
    ("faq_bedrag_gemeente", "Krijgt {g} {a} miljoen?"),
    ("faq_bedrag_gemeente", "Klopt het dat {g} € {a} miljoen krijgt?"),
    ("faq_budget_totaal", "Is het {a} miljoen per jaar?"),
    ("faq_budget_totaal", "Is er in totaal {a} miljoen euro?"),
    ("faq_bijdrage_ministerie", "Betaalt OCW {a} miljoen?"),
    ("faq_themas", "Is er {a} miljoen voor School en Omgeving?"),
]


@SETTINGS
@given(st.integers(1, 999), st.sampled_from(sorted(NPLV) + OUTSIDE[:40]), st.sampled_from(AMOUNT_TEMPLATES))
def test_a_named_amount_is_confirmed_only_when_the_kb_carries_it(amount, g, template):
    intent, question = template
    q = question.format(g=g, a=amount)
    text = reply(intent, q)
    value = amount * 1e6
    if value not in KB_AMOUNTS:
        assert not says_yes(text), text
        assert any(grounding.euros(value) in s and negative(s) for s in sentences(text)), text
    if "per jaar" in q:
        assert "per jaar" not in text or "niet per jaar" in text, text
        assert not says_yes(text), text
    assert_claims_only_what_the_kb_carries(text, named_amounts={value}, question=q)


def test_400_million_is_not_per_year():
    text = reply("faq_budget_totaal", "is het 400 miljoen per jaar?")
    assert text.startswith("Nee, € 400 miljoen is het bedrag voor 2026-2028 samen, niet per jaar."), text
    assert "niet bekend" in text


# -- two places --------------------------------------------------------------------------------

PAIR_TEMPLATES = [
    ("faq_wie_aanvragen", "Kunnen {a} en {b} samen een aanvraag doen?"),
    ("faq_aanvraagprocedure", "Kunnen {a} en {b} samen een aanvraag doen?"),
    ("faq_gebieden", "Doen {a} en {b} mee?"),
    ("faq_bedrag_gemeente", "Hoeveel krijgen {a} en {b}?"),
    ("faq_inwoners", "Hoeveel mensen wonen er in {a} en {b}?"),
]
PAIR_POOL = sorted(NPLV) + OUTSIDE


@SETTINGS
@given(st.sampled_from(PAIR_POOL), st.sampled_from(PAIR_POOL), st.sampled_from(PAIR_TEMPLATES))
def test_both_places_of_a_two_place_question_are_addressed(a, b, template):
    if a == b or normalise(a) in normalise(b) or normalise(b) in normalise(a):
        return
    intent, question = template
    q = question.format(a=a, b=b)
    text = reply(intent, q)
    assert_claims_only_what_the_kb_carries(text, question=q)
    for place in (a, b):
        if place in NPLV:
            assert mentions(text, place) or any(ar.name in text for ar in NPLV[place].areas), (place, text)
        else:
            assert mentions(text, place), (place, text)
    if "samen" in q:
        assert KNOWLEDGE_REPLY["joint_unknown"] in text and not says_yes(text), text
    if a not in NPLV or b not in NPLV:
        assert "geen NPLV-focusgebied" in text and not says_yes(text), text


def test_rotterdam_and_schiedam_together():
    text = reply("faq_wie_aanvragen", "kunnen Rotterdam en Schiedam samen een aanvraag doen?")
    assert "Rotterdam-Zuid" in text and "Schiedam Nieuwland en Oost" in text
    assert "Of gemeenten samen één aanvraag kunnen doen, staat niet in mijn bronnen." in text
    assert not says_yes(text)


def test_almere_s_amount_is_that_it_does_not_take_part():
    r = reply_to(KB, "faq_bedrag_gemeente", "Hoeveel krijgt Almere?")
    assert r.text.startswith("Almere heeft geen NPLV-focusgebied") and "niet bekend" not in r.text


def test_common_words_that_are_gemeenten_count_only_as_names():
    assert find(KB, "Hoeveel krijgt Best?").others == ["Best"]
    assert not find(KB, "wat is het best om te doen").others
    assert not find(KB, "mag het geld naar huizen bouwen").others
    assert find(KB, "Ik werk bij de gemeente huizen").others == ["Huizen"]
    assert find(KB, "Doet Midden-Groningen mee?").others == ["Midden-Groningen"]
    assert not find(KB, "Doet Midden-Groningen mee?").gemeenten


@pytest.mark.parametrize(
    "question, district, area",
    [
        ("Is Charlois in Rotterdam-Zuid een focusgebied?", "Charlois", "Rotterdam-Zuid"),
        ("hoort de Afrikaanderwijk bij Rotterdam-Zuid?", "Afrikaanderwijk", "Rotterdam-Zuid"),
        ("Valt Kanaleneiland in Utrecht Overvecht?", "Kanaleneiland", "Utrecht Overvecht"),
    ],
)
def test_a_district_named_with_an_area_is_not_confirmed_either(question, district, area):
    text = reply("faq_gebieden", question)
    assert f"of {district} daarbij hoort, staat niet in mijn bronnen" in text and area in text, text
    assert not says_yes(text) and text.count(f"**{area}** (gemeente") <= 1, text


@pytest.mark.parametrize(
    "question, district",
    [
        ("Valt de wijk Kanaleneiland eronder?", "Kanaleneiland"),
        ("valt de wijk kanaleneiland eronder", "Kanaleneiland"),
        ("Is de Afrikaanderwijk een focusgebied?", "Afrikaanderwijk"),
    ],
)
def test_a_part_of_town_without_its_gemeente_is_not_confirmed(question, district):
    text = reply("faq_gebieden", question)
    assert text.startswith(f"Of {district} bij een van de 20 focusgebieden hoort, staat niet in mijn bronnen.")
    assert not says_yes(text)


@pytest.mark.parametrize(
    "question",
    [
        "openingstijden milieustraat",
        "Welke wijken doen mee?",
        "kunnen stoepen in de buurt opnieuw bestraat worden",
        "klopt het mailadres spukkansrijkewijk@minbzk.nl nog",
    ],
)
def test_ordinary_words_are_no_part_of_town(question):
    assert not find(KB, question).unplaced


def _area_spellings():
    for g in KB.gemeenten:
        for area in g.areas:
            for name in (area.name, *area.aliases):
                yield area, name


@pytest.mark.parametrize(
    "template",
    [
        "Is {n} een focusgebied?",
        "hoeveel mensen wonen in {n}",
        "Hoort {n} bij de regeling?",
        "wat doet {n} met het geld",
    ],
)
def test_every_area_name_and_alias_stays_an_area(template):
    for area, name in _area_spellings():
        for spelled in (name, name.title(), name.lower()):
            m = find(KB, template.format(n=spelled))
            assert not m.districts and not m.unplaced and not m.others, (spelled, m)
            if len(normalise(spelled).split()) > 1 or normalise(spelled) in {normalise(area.name)}:
                assert area in m.areas, (spelled, m)


@pytest.mark.parametrize(
    "template",
    [
        "Doet {n} mee?",
        "hoeveel krijgt {n} precies",
        "Mag {n} aanvragen?",
        "welke wijken in {n} doen mee",
        "Hoeveel mensen wonen er in {n}?",
    ],
)
def test_every_nplv_gemeente_name_and_alias_stays_the_gemeente(template):
    for g in KB.gemeenten:
        for name in (g.name, *g.aliases):
            m = find(KB, template.format(n=name))
            assert not m.districts and not m.others, (name, m)
            assert g in m.gemeenten, (name, m)


def _entity(text: str, raw: str, value: str) -> dict:
    start = text.lower().index(raw)
    return {"entity": "gebied", "value": value, "start": start, "end": start + len(raw)}


@pytest.mark.parametrize(
    "text, raw",
    [("Hoort de Bijlmer bij het focusgebied?", "bijlmer"), ("Valt de Bijlmermeer onder het NPLV?", "bijlmermeer")],
)
def test_an_nlu_synonym_for_a_part_of_town_is_no_area(text, raw):
    # The NLU maps these to Amsterdam Zuidoost; FACTS lists the areas, not their buurten.
    reply = reply_to(KB, "faq_gebieden", text, [_entity(text, raw, "Amsterdam Zuidoost")])
    assert not reply.text.startswith("Ja")
    assert f"of {raw.capitalize()} daarbij hoort, staat niet in mijn bronnen" in reply.text


def test_a_spelling_of_the_gemeente_before_its_own_area_is_that_area():
    text = "is a'dam zuidoost een focusgebied?"
    mentions = find(KB, text, [_entity(text, "a'dam zuidoost", "Amsterdam Zuidoost")])
    assert [a.name for a in mentions.areas] == ["Amsterdam Zuidoost"] and not mentions.districts
