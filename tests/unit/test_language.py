"""English or Dutch: one English sentence is added to answers of English questions only."""

import pytest

from bot.core.language import looks_english


@pytest.mark.parametrize(
    "text",
    [
        "When is the deadline for the application?",
        "How much money is there?",
        "Which areas are eligible?",
        "Can I talk to a person?",
        "Is Arnhem part of this?",
    ],
)
def test_english(text):
    assert looks_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "wanneer is de deadline?",
        "hallo",
        "hello",
        "Is Arnhem een NPLV-gebied?",
        "kan ik een meeting plannen met the team",
        "ik wil de status van mijn application",
        "",
        "KW-2025-0042",
        "ok",
    ],
)
def test_dutch_or_too_short_to_tell(text):
    assert not looks_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "what is this?",
        "how much money?",
        "who can apply?",
        "what is spuk?",
        "who qualifies?",
        "english please",
        "the deadline?",
        "What about Rotterdam?",
    ],
)
def test_short_english_questions(text):
    assert looks_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "wat is spuk?",
        "ok thanks",
        "thanks man",
        "deadline?",
        "de deadline",
        "welke area",
        "mag ik deadline",
        "Rotterdam?",
        "when?",
    ],
)
def test_short_dutch_or_mixed_stays_dutch(text):
    assert not looks_english(text)
