"""The content audit against FACTS.md: one test (or more) per finding, so none comes back."""

import copy
import datetime as dt
import re

import pytest
import yaml

from bot import texts
from bot.core.reply import HANDOFF_BUTTON
from bot.knowledge import loader
from bot.knowledge.loader import KnowledgeBaseError, get_knowledge_base, parse
from bot.knowledge.places import find
from bot.settings import ROOT
from bot.status import statuses
from bot.status.demo import DEMO
from bot.status.render import render_application, render_list, render_missing_items
from bot.status.service import ApplicationView
from tests.fixtures.knowledge import reply_to


@pytest.fixture(scope="module")
def kb():
    return get_knowledge_base()


def all_texts(kb):
    """Every text the knowledge base can say, with where it comes from."""
    for a in kb.answers.values():
        yield f"answers[{a.key}]", a.text, a.sources
    for t in kb.themes:
        yield f"themes[{t.key}]", t.text, t.sources
    for e in kb.examples.values():
        yield f"examples[{e.area}]", e.text, e.sources
    for m in kb.ministries:
        if m.text:
            yield f"ministries[{m.key}]", m.text, m.sources


def body(reply):
    return reply.text  # sources travel as data (Reply.sources), never in the text


def handoff(reply):
    return HANDOFF_BUTTON in reply.buttons


# -- unsourced claims --------------------------------------------------------------------------


def test_no_answer_says_the_amount_is_in_a_beschikking(kb):
    for where, text, _ in all_texts(kb):
        assert "beschikking" not in text.lower(), where
    for q in ("Hoeveel geld krijgt Rotterdam?", "hoeveel krijgt een gemeente", "bedrag voor Tilburg NoordWest"):
        assert "beschikking" not in reply_to(kb, "faq_bedrag_gemeente", q).text.lower(), q


def test_areas_list_does_not_claim_that_unnamed_wijken_are_excluded(kb):
    text = kb.answers["gebieden"].text
    assert "wijk hier niet bij" not in text and "valt die niet onder" not in text
    assert "Welke buurten precies bij een gebied horen, staat niet in mijn bronnen" in text


def test_a_buurt_question_gets_unknown_boundaries_and_the_helpdesk(kb):
    reply = reply_to(kb, "faq_gebieden", "Valt mijn straat in Rotterdam-Zuid onder de regeling?")
    assert "Rotterdam-Zuid" in reply.text and "is bij mij niet bekend" in reply.text
    assert handoff(reply)


def test_college_van_b_en_w_is_never_stated_flatly(kb):
    for where, text, _ in all_texts(kb):
        if "college van burgemeester en wethouders" in text:
            assert "waarschijnlijk" in text and "leid ik af" in text, where


def test_volkshuisvestingsfonds_is_not_credited_to_sources_that_lack_it(kb):
    # FACTS.md has the Volkshuisvestingsfonds only as an inference, without a source id.
    for where, text, _ in all_texts(kb):
        if "Volkshuisvestingsfonds" in text:
            assert "Dat staat niet in de bronnen hieronder" in text, where
            assert "voor zover ik weet" in text, where


# -- claims from the status texts --------------------------------------------------------------

PROCESS_WORDS = re.compile(
    r"betaal|betaling|voorschot|vaststel|vastgesteld|ontvangstbevestiging|"
    r"portaal|wijziging",
    re.I,
)


def sentences(text):
    return [s for s in re.split(r"(?<=[.?!])\s+", text) if s]


def test_status_texts_word_process_steps_as_the_handling_organisation_s_data():
    # FACTS: which body processes applications is not known, so no step is presented as a
    # fact of the regeling: each says it comes from the data of whoever handles the application.
    for status in statuses.all_statuses():
        for text in (status.explanation, status.next_step):
            for sentence in sentences(text):
                if PROCESS_WORDS.search(sentence):
                    assert "behandelaar" in sentence, (status.code, sentence)


def status_sentences():
    for status in statuses.all_statuses():
        yield status.code, f"{status.label} {status.explanation} {status.next_step}"
    for name in dir(texts):
        if name.startswith("STATUS_") and isinstance(getattr(texts, name), str):
            yield name, getattr(texts, name)
    for key, value in texts.STATUS_REPLY.items():
        yield f"STATUS_REPLY[{key}]", value
    yield "CHAT_ERRORS[portal_expired]", texts.CHAT_ERRORS["portal_expired"]


def test_no_status_text_presents_our_back_office_as_the_deciding_body():
    for where, text in status_sentences():
        assert "backoffice" not in text.lower(), where
        assert "aanvragersportaal" not in text.lower() and "ons portaal" not in text.lower(), where


def test_the_rejected_status_invents_no_bezwaar_procedure():
    for where, text in status_sentences():
        assert "bezwaar" not in text.lower(), where
    rejected = statuses.get("besluit_afgewezen")
    assert "medewerker" in rejected.next_step


def test_the_portal_is_the_one_the_user_is_logged_in_to():
    assert "het portaal waarin je bent ingelogd" in texts.STATUS_LIST_PORTAL_ONLY


def test_status_prompts_do_not_assume_an_ontvangstbevestiging():
    files = [
        ROOT / "domain.yml",
        ROOT / "actions" / "status.py",
        ROOT / "bot" / "status" / "render.py",
        ROOT / "bot" / "status" / "statuses.py",
        ROOT / "bot" / "texts.py",
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        code_lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        said = "\n".join(code_lines).split('"""', 2)[-1] if path.suffix == ".py" else text
        assert "ontvangstbevestiging" not in said, path.name


# -- wrong matches -----------------------------------------------------------------------------


def test_bzk_is_not_read_as_vro(kb):
    reply = body(
        reply_to(
            kb,
            "faq_bijdrage_ministerie",
            "hoeveel betaalt BZK mee",
            [{"entity": "ministerie", "value": "BZK", "start": 16, "end": 19}],
        )
    )
    assert "€ 30 miljoen" not in reply and "eerste tranche" in reply and "BZK" in reply
    assert "OCW, SZW en VRO" in reply


def test_nlu_synonyms_do_not_map_bzk_to_vro():
    data = yaml.safe_load((ROOT / "data" / "nlu" / "faq.yml").read_text(encoding="utf-8"))
    for block in data["nlu"]:
        if block.get("synonym") == "VRO":
            variants = [line.strip()[2:].lower() for line in block["examples"].splitlines() if line.strip()]
            assert not any("bzk" in v or "binnenlandse" in v for v in variants), variants


@pytest.mark.parametrize(
    "text, wrong, right",
    [
        ("Is Utrecht Zuidwest een focusgebied?", "Den Haag", "Utrecht Overvecht"),
        ("Doet Utrecht Noordwest mee?", "Tilburg", "Utrecht Overvecht"),
        ("Hoort Rotterdam Zuidoost erbij?", "Amsterdam", "Rotterdam-Zuid"),
        ("Is Amstelveen Westwijk een NPLV-gebied?", "Vlaardingen Westwijk", "Amstelveen"),
    ],
)
def test_a_fragment_after_another_town_is_not_an_alias(kb, text, wrong, right):
    reply = reply_to(kb, "faq_gebieden", text)
    assert wrong not in body(reply) and right in body(reply)


def test_a_fragment_from_an_entity_is_judged_in_context(kb):
    # DIET may tag "Zuidwest" and the synonym mapper turn it into "Den Haag Zuidwest".
    m = find(kb, "Utrecht Zuidwest", [{"entity": "gebied", "value": "Den Haag Zuidwest", "start": 8, "end": 16}])
    assert not m.areas and [d[1] for d in m.districts] == ["Utrecht Zuidwest"]


def test_a_bare_fragment_alone_still_names_its_area(kb):
    assert [a.name for a in find(kb, "hoeveel mensen wonen in zuidoost").areas] == ["Amsterdam Zuidoost"]
    assert [a.name for a in find(kb, "overvecht en rotterdam zuid").areas] == ["Rotterdam-Zuid", "Utrecht Overvecht"]


def test_a_district_reply_says_the_boundaries_are_unknown(kb):
    reply = reply_to(kb, "faq_gebieden", "Utrecht Zuidwest?")
    assert reply.text.startswith(
        "In Utrecht is het focusgebied **Utrecht Overvecht**; of Utrecht "
        "Zuidwest daarbij hoort, staat niet in mijn bronnen."
    )
    assert handoff(reply)


# -- unknowns not said plainly -----------------------------------------------------------------


def test_legal_basis_says_what_is_unknown(kb):
    reply = reply_to(kb, "faq_wettelijke_basis", "wat is de wettelijke basis")
    for item in ("datum van ondertekening", "kenmerk", "BWBR-nummer", "einddatum"):
        assert item in reply.text
    assert "niet bekend" in reply.text and handoff(reply)


@pytest.mark.parametrize(
    "intent, text",
    [
        ("faq_ministerie_verantwoordelijk", "welk ministerie is verantwoordelijk"),
        ("faq_themas", "wat valt onder financiële educatie"),
    ],
)
def test_partly_unknown_answers_offer_the_helpdesk(kb, intent, text):
    reply = reply_to(kb, intent, text)
    assert "niet" in body(reply) and kb.unknown_offer in reply.text and handoff(reply)


def test_every_text_that_says_unknown_is_marked_unknown(kb):
    for a in kb.answers.values():
        assert loader.says_unknown(a.text) == (not a.known), a.key
    for t in kb.themes:
        assert loader.says_unknown(t.text) == (not t.known), t.key


def test_loader_refuses_an_unknown_marked_known():
    raw = yaml.safe_load(loader.DEFAULT_PATH.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    entry = next(a for a in broken["answers"] if a["key"] == "ministerie_verantwoordelijk")
    entry.pop("known")
    with pytest.raises(KnowledgeBaseError, match=r"answers\[ministerie_verantwoordelijk\].*known: false"):
        parse(broken)
    broken = copy.deepcopy(raw)
    entry = next(a for a in broken["answers"] if a["key"] == "alliantie")
    entry["known"] = False
    with pytest.raises(KnowledgeBaseError, match=r"answers\[alliantie\].*does not say plainly"):
        parse(broken)


# -- templates ---------------------------------------------------------------------------------


def test_two_ministries_in_one_sentence_keep_lower_case(kb):
    text = body(reply_to(kb, "faq_bijdrage_ministerie", "hoeveel betalen OCW en SZW"))
    assert " en het ministerie van Sociale Zaken" in text and " en Het " not in text
    assert text.startswith("Het ministerie van Onderwijs")


def test_two_areas_in_one_inhabitants_sentence_keep_lower_case(kb):
    text = body(reply_to(kb, "faq_inwoners", "hoeveel inwoners hebben rotterdam zuid en overvecht"))
    assert "; in **Utrecht Overvecht**" in text and "; In" not in text


@pytest.mark.parametrize(
    "intent, text, starts_with_nee",
    [
        ("faq_gebieden", "Is Almere een NPLV-gebied?", True),
        ("faq_wie_aanvragen", "Mag Zwolle aanvragen?", True),
        ("faq_inwoners", "Hoeveel mensen wonen er in Almere?", False),
        ("faq_gebieden", "Welke wijken in Almere doen mee?", False),
        ("faq_gebieden", "Almere?", False),
        ("faq_voorbeelden", "Wat doet Almere met het geld?", False),
    ],
)
def test_nee_only_answers_a_yes_no_question(kb, intent, text, starts_with_nee):
    reply = body(reply_to(kb, intent, text))
    assert reply.startswith("Nee, ") == starts_with_nee, reply
    assert "Almere" in reply or "Zwolle" in reply


def test_ja_only_answers_a_yes_no_question(kb):
    assert body(reply_to(kb, "faq_gebieden", "Is Tilburg NoordWest een NPLV-gebied?")).startswith("Ja, ")
    assert not body(reply_to(kb, "faq_gebieden", "Welk gebied in Utrecht doet mee?")).startswith("Ja")


@pytest.mark.parametrize(
    "intent, text",
    [
        ("faq_gebieden", "is overvecht een focusgebied"),
        ("faq_gebieden", "welke gebieden liggen in amsterdam"),
        ("faq_gebieden", "Arnhem?"),
        ("faq_inwoners", "hoeveel mensen wonen in rotterdam zuid"),
        ("faq_inwoners", "hoeveel inwoners heeft het gebied in amsterdam"),
        ("faq_wie_aanvragen", "mag breda aanvragen"),
    ],
)
def test_every_inhabitant_figure_has_its_date(kb, intent, text):
    reply = body(reply_to(kb, intent, text))
    assert re.search(r"\d\.\d{3} (inwoners|mensen)", reply), reply
    assert "op 1 januari 2025" in reply, reply


# -- demo data ---------------------------------------------------------------------------------


def demo_view(demo, status="in_behandeling"):
    return ApplicationView(
        aanvraagnummer=demo["number"],
        gemeente=demo["fields"]["gemeente"],
        gebied=demo["fields"]["gebied"],
        submitted_at=demo["fields"]["submitted_at"],
        status=status,
        requested=(),
        granted_amount_cents=None,
        missing_items="Een begroting.",
        next_step=None,
        next_step_date=None,
        status_since=dt.datetime(2026, 11, 1),
        updated_at=None,
        demo=True,
    )


def test_demo_areas_use_the_knowledge_base_names(kb):
    names = {a.name for a in kb.areas}
    for demo in DEMO:
        assert demo["fields"]["gebied"] in names, demo["fields"]["gebied"]


def test_every_chat_reply_about_a_demo_application_says_it_is_fictional():
    views = [demo_view(d) for d in DEMO]
    for view in views:
        assert render_application(view).text.startswith(texts.STATUS_DEMO_NOTE)
    assert render_missing_items(demo_view(DEMO[1], statuses.AANVULLING_NODIG)).text.startswith(texts.STATUS_DEMO_NOTE)
    listing = render_list("Amsterdam", views).text
    assert texts.STATUS_DEMO_LIST_NOTE in listing and listing.count("(fictieve demo-aanvraag)") == len(views)


def test_a_real_application_has_no_demo_note():
    real = demo_view(DEMO[0])
    real = ApplicationView(**{**real.__dict__, "demo": False})
    assert "fictie" not in render_application(real).text


# -- citations ---------------------------------------------------------------------------------

# Each claim, as it is worded in the knowledge base, and the sources FACTS.md gives for it.
CLAIM_SOURCES = [
    (r"specifieke uitkering", {"S1", "S6"}),
    (r"19 gemeenten", {"S8", "S15"}),
    (r"2026 tot en met 2028|tot en met 2028", {"S3", "S4"}),
    (r"NPLV|Leefbaarheid en\s+Veiligheid", {"S1", "S8", "S15", "S16"}),
    (r"7 juli 2025", {"S1"}),
    (r"11 december 2025", {"S5"}),
    (r"16 mei", {"S3"}),
    (r"€ 327 miljoen|€ 51 miljoen|€ 30 miljoen", {"S1", "S5"}),
    (r"256 miljoen", {"S3", "S14", "S8"}),
    (r"1,2 miljoen", {"S16", "S20"}),
    (r"20924", {"S6"}),
    (r"32385", {"S7"}),
]


def test_every_claim_cites_a_source_that_carries_it(kb):
    for where, text, sources in all_texts(kb):
        for pattern, allowed in CLAIM_SOURCES:
            if re.search(pattern, text):
                assert set(sources) & allowed, f"{where}: '{pattern}' needs one of {sorted(allowed)}"


def test_wat_is_cites_what_facts_gives(kb):
    assert {"S8", "S15", "S3", "S4"} <= set(kb.answers["wat_is"].sources)


# -- wording slips (issue 20) ------------------------------------------------------------------


def test_the_money_was_awarded_by_11_december_not_on_it(kb):
    # FACTS: "By 11 December 2025 the funds for 2026-2028 had been awarded".
    for where, text, _ in all_texts(kb):
        for sentence in sentences(text.replace("\n", " ")):
            if "11 december 2025" in sentence and "toegekend" in sentence:
                assert re.search(r"[Uu]iterlijk op (\*\*)?11 december 2025", sentence), (where, sentence)


def test_the_consultation_ran_up_to_and_including_2_june(kb):
    text = kb.answers["internetconsultatie"].text
    assert "16 mei tot en met 2 juni 2025" in text.replace("**", "")
    for where, t, _ in all_texts(kb):
        assert not re.search(r"16 mei tot 2 juni", t.replace("**", "")), where


def test_the_residents_answer_claims_no_more_than_facts(kb):
    text = kb.answers["bewoners"].text
    # FACTS: gemeenten apply; residents take part through the gemeente and the alliance. Whether
    # a resident gets anything from it is not in the sources.
    for claim in ("geen geld uit krijgen", "niet voor inwoners", "niets uit krijgen"):
        assert claim not in text
    assert "aan gemeenten" in text and "alliantie" in text and "waarschijnlijk" in text


def test_two_areas_of_one_gemeente_are_plural(kb):
    reply = body(reply_to(kb, "faq_gebieden", "Is Amsterdam Oost een focusgebied?"))
    assert reply.startswith(
        "In Amsterdam zijn de focusgebieden **Amsterdam Nieuw-West** en "
        "**Amsterdam Zuidoost**; of Amsterdam Oost daarbij hoort"
    ), reply
    assert "is de focusgebieden" not in reply


def test_the_privacy_page_does_not_promise_the_conversation_after_nee():
    page = (ROOT / "bot" / "web" / "templates" / "privacy.html").read_text(encoding="utf-8")
    assert "Dan ziet de medewerker van de helpdesk je gesprek" not in page
    nee = page.split("Zeg je <q>nee</q>")[1].split("</li>")[0]
    assert "ziet de medewerker ons gesprek niet" in nee and "alleen je vraag" in nee


def test_the_rephrase_examples_have_a_known_answer(kb):
    examples = re.findall(r"'([^']+\?)'", texts.NOT_UNDERSTOOD_FIRST)
    assert len(examples) == 2
    buttons = {a.button: a for a in kb.answers.values()}
    for example in examples:
        assert example in buttons and buttons[example].known, example
