"""Bad input through Rasa's REST channel gets a sensible Dutch reply, never a server error."""

import os

import pytest

DUTCH_HINTS = ("je", "ik", "de", "het", "een", "vraag", "sorry", "helaas")


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "a" * 10_000,
        "regeling " * 1200,
        "😀🎉🙈🙈🙈",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "'; DROP TABLE events; --",
        "KW-2025-0042' OR '1'='1",
        os.urandom(300).decode("latin-1"),
        "\x00\x01\x02 nul bytes \x7f",
    ],
)
def test_bad_input_gets_a_dutch_reply(rasa_stack, message):
    replies = rasa_stack.say(message)
    text = " ".join(r.get("text") or "" for r in replies).lower()
    assert text, f"no reply to {message[:30]!r}"
    assert any(f" {w} " in f" {text} " for w in DUTCH_HINTS), text[:200]
    assert "<script>" not in text and "drop table" not in text


def test_conversation_continues_after_bad_input(rasa_stack):
    sender = "bad-then-good"
    rasa_stack.say(os.urandom(200).decode("latin-1"), sender=sender)
    replies = rasa_stack.say("Vanaf wanneer kon je aanvragen?", sender=sender)
    assert "7 juli 2025" in " ".join(r.get("text") or "" for r in replies)
