"""The editors' page groups questions that say the same thing (bot/insights/grouping.py)."""

import datetime as dt

from bot.insights.grouping import group_key, group_similar, similarity

T0 = dt.datetime(2026, 11, 2, 9, 0)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def test_group_key_folds_case_accents_punctuation_and_spaces():
    assert group_key("Wanneer kan ik   AANVRAGEN??") == group_key("wanneer kan ik aanvragen")
    assert group_key("Café-budget, één keer!") == group_key("cafe budget een keer")
    assert group_key("Mail naar [e-mailadres]") == "mail naar [e mailadres]"
    assert group_key("?!...") == ""


def test_similarity_is_jaccard_and_zero_without_words():
    assert similarity(frozenset("ab"), frozenset("ab")) == 1.0
    assert similarity(frozenset("abc"), frozenset("abd")) == 0.5
    assert similarity(frozenset(), frozenset("a")) == 0.0


def test_equal_and_similar_questions_form_one_group_with_count_and_last_date():
    items = [
        ("Wanneer kan ik aanvragen?", at(0), "fallback"),
        ("wanneer kan ik aanvragen", at(5), "fallback"),
        ("Wanneer kan ik  AANVRAGEN!", at(1), "choices"),
        ("Wanneer kan ik nou mijn aanvraag doen?", at(30), "fallback"),  # other words, same content
        ("Hoe hoog is het budget voor Delft?", at(2), "fallback"),
        ("Wat is het weer morgen", at(3), "low_confidence"),
    ]
    groups = group_similar(items)
    first = groups[0]
    assert first.count == 4
    assert first.label == "Wanneer kan ik aanvragen?"  # the commonest wording … (tie: first seen)
    assert first.last == at(30)  # … and the latest of all members
    assert first.tags == {"fallback": 3, "choices": 1}
    assert "Wanneer kan ik nou mijn aanvraag doen?" in first.variants
    assert sorted(g.count for g in groups) == [1, 1, 4]
    assert {g.label for g in groups[1:]} == {"Hoe hoog is het budget voor Delft?", "Wat is het weer morgen"}


def test_different_questions_sharing_one_word_stay_apart():
    groups = group_similar(
        [
            ("Hoeveel geld krijgt Rotterdam?", at(0), None),
            ("Welke wijken in Rotterdam doen mee?", at(1), None),
            ("", at(2), None),
            ("   ", at(3), None),
        ]
    )
    assert len(groups) == 2 and all(g.count == 1 for g in groups)


def test_questions_about_different_things_stay_apart_even_in_the_same_mould():
    groups = group_similar(
        [
            ("Is er geld voor een speeltuin in onze buurt?", at(0), None),
            ("Is er geld voor een bibliotheek in onze buurt?", at(1), None),
            ("is er geld voor een speeltuin in de buurt", at(2), None),
        ]
    )
    assert sorted((g.count, g.label) for g in groups) == [
        (1, "Is er geld voor een bibliotheek in onze buurt?"),
        (2, "is er geld voor een speeltuin in de buurt"),
    ]  # equal weight: the newest wording leads


def test_biggest_group_first_then_most_recent():
    items = (
        [("budget Utrecht", at(0), None)]
        + [("looptijd regeling", at(i), None) for i in range(3)]
        + [("bedrag Tilburg", at(50), None)]
    )
    labels = [g.label for g in group_similar(items)]
    assert labels == ["looptijd regeling", "bedrag Tilburg", "budget Utrecht"]


def test_many_questions_group_fast():
    import time

    items = [(f"vraag nummer {i} over onderwerp {i % 50} en wijk {i % 7}", at(i), "fallback") for i in range(5000)]
    start = time.perf_counter()
    groups = group_similar(items)
    assert time.perf_counter() - start < 10
    assert sum(g.count for g in groups) == 5000
