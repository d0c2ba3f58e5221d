"""Rendered answers: sources, follow-ups, unknown facts, and the parameterised answers."""

import pytest

from bot.core.reply import HANDOFF_BUTTON
from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.places import find
from bot.knowledge.render import answer_for
from tests.fixtures.knowledge import reply_to


@pytest.fixture(scope="module")
def kb():
    return get_knowledge_base()


def test_every_answer_carries_its_sources_as_data_and_offers_followups(kb):
    for answer in kb.answers.values():
        reply = reply_to(kb, answer.intent)
        assert "Bron:" not in reply.text, answer.key  # sources are data, not text
        assert [s.url for s in reply.sources] == [kb.sources[i].url for i in dict.fromkeys(answer.sources)]
        custom = reply.message()["json_message"]
        assert custom["kw_sources"][0] == {"title": reply.sources[0].title, "url": reply.sources[0].url}
        assert custom["kw_checked"] == answer.checked.isoformat()
        assert 2 <= len(reply.buttons) <= 3, answer.key
        assert (HANDOFF_BUTTON in reply.buttons) == (not answer.known), answer.key


def test_unknown_answer_says_so_and_offers_helpdesk(kb):
    reply = reply_to(kb, "faq_deadline", "tot wanneer kan ik aanvragen")
    assert "niet bekend" in reply.text and kb.unknown_offer in reply.text
    assert "7 juli 2025" in reply.text


@pytest.mark.parametrize(
    "text, expected, absent",
    [
        ("Is Tilburg NoordWest een NPLV-gebied?", "Ja, **Tilburg NoordWest**", "geen NPLV"),
        ("valt overvecht eronder", "**Utrecht Overvecht**", "geen NPLV"),
        ("welke wijken in amsterdam", "Amsterdam Nieuw-West", "geen NPLV"),
        ("doet s-gravenhage mee", "Den Haag Zuidwest", "geen NPLV"),
        ("roosendaal-stad", "Roosendaal Ring", "geen NPLV"),
    ],
)
def test_area_questions(kb, text, expected, absent):
    reply = reply_to(kb, "faq_gebieden", text)
    assert expected in reply.text and absent not in reply.text


def test_non_nplv_place_from_entity(kb):
    reply = reply_to(kb, "faq_gebieden", "Hoort Xyzdorp erbij?", [{"entity": "plaats", "value": "Almere"}])
    assert reply.text.startswith("Nee, Almere heeft geen NPLV-focusgebied")


def test_unrecognised_place_gets_the_list_with_a_clear_rule(kb):
    reply = reply_to(kb, "faq_gebieden", "hoort Xyzdorp erbij?")
    assert "Zaandam-Oost" in reply.text and "dan kan ze niet aanvragen" in reply.text
    # Area boundaries are not published: an unnamed wijk may still lie inside an area.
    assert "valt die niet onder deze regeling" not in reply.text


def test_entity_synonym_value_is_used(kb):
    m = find(kb, "iets", [{"entity": "gebied", "value": "Rotterdam-Zuid"}])
    assert [a.name for a in m.areas] == ["Rotterdam-Zuid"]


def test_inhabitants_of_one_area(kb):
    reply = reply_to(kb, "faq_inwoners", "hoeveel mensen wonen in rotterdam zuid")
    assert "215.000" in reply.text


def test_ministry_amounts(kb):
    assert "€ 327 miljoen" in reply_to(kb, "faq_bijdrage_ministerie", "Hoeveel draagt OCW bij?").text
    assert "€ 51 miljoen" in reply_to(kb, "faq_bijdrage_ministerie", "bijdrage sociale zaken").text
    both = reply_to(kb, "faq_bijdrage_ministerie", "wie betaalt wat").text
    assert "€ 327 miljoen" in both and "€ 30 miljoen" in both


def test_theme_explanation_and_unknown_theme(kb):
    assert "deelname van bewoners" in reply_to(kb, "faq_themas", "wat is maatschappelijke samenhang").text
    reply = reply_to(kb, "faq_themas", "gaat gezonde leefomgeving door?")
    assert "niet bekend" in reply.text
    assert reply.buttons[0] == HANDOFF_BUTTON


def test_example_marks_single_source_claims(kb):
    assert "Vakschool" in reply_to(kb, "faq_voorbeelden", "Wat doet Heerlen met het geld?").text
    tilburg = reply_to(kb, "faq_voorbeelden", "voorbeeld uit tilburg").text
    assert "persbericht van juli 2025" in tilburg
    breda = reply_to(kb, "faq_voorbeelden", "wat doet breda").text
    assert "geen voorbeeld" in breda


def test_amount_per_gemeente_is_never_invented(kb):
    reply = reply_to(kb, "faq_bedrag_gemeente", "Hoeveel geld krijgt Rotterdam?")
    assert "niet bekend" in reply.text and "28 miljoen" not in reply.text
    assert reply.buttons[0] == HANDOFF_BUTTON


def test_unknown_intent_has_no_answer(kb):
    assert answer_for(kb, "faq_bestaat_niet") is None
