"""Values typed in free sentences, through the real gateway process and the real Rasa stack
(issue 20 items 2 and 4, issue 21 M3). Each test reads back what was stored: the ticket's
contact decrypted, its question and state, and Rasa's tracker for codes in the clear."""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
import zlib
from collections.abc import Iterator

import pytest

from bot import texts
from bot.core.masking import mask_personal_data
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from tests.fixtures.chat import Chat, fresh_application, reply_text, tracker_json
from tests.fixtures.gateway import GatewayProcess, gateway_for


@pytest.fixture(scope="module")
def edge(rasa_stack, tmp_path_factory) -> Iterator[GatewayProcess]:
    # Every test speaks from its own address (through the trusted proxy): no shared rate limits.
    proc = gateway_for(rasa_stack, tmp_path_factory.mktemp("sentences"), KW_TRUSTED_PROXIES="127.0.0.1/32")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def boss(edge):
    return StaffService.from_settings(edge.rasa_stack.settings).create_user(
        "baas-zinnen", "Bea Beheer", "correct horse battery", "beheerder"
    )


def tickets(edge: GatewayProcess) -> HandoffService:
    return HandoffService.from_settings(edge.rasa_stack.settings)


def ip_for(name: str) -> str:
    return "10.{}.{}.{}".format(*zlib.crc32(name.encode()).to_bytes(4, "big")[1:])


def last_ticket(edge: GatewayProcess, sid: str):
    found = tickets(edge).tickets_for_conversation(sid)
    return found[-1] if found else None


async def talk(edge: GatewayProcess, name: str, lines, check=None):
    """Say each line; returns (chat sid, the reply texts)."""
    said = []
    async with Chat(edge, ip_for(name)) as chat:
        await chat.hello()
        for line in lines:
            frame = await chat.say(line)
            assert frame["type"] == "reply", frame
            said.append(reply_text(frame))
            if check is not None:
                check(chat.sid, len(said), said[-1])
        return chat.sid, said


def compact(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKC", text).upper())


START = ["ik wil een medewerker spreken", "ja", "Wanneer horen we iets over onze aanvraag?"]


@pytest.mark.parametrize(
    "typed, stored, said",
    [
        ("je kunt me bellen op 06-12345678", "0612345678", "telefoonnummer …678"),
        ("stuur maar een mail naar piet@gemeente.nl, liever geen telefoon", "piet@gemeente.nl", "e-mailadres p…@…"),
        ("tel: 010 123 4567", "0101234567", "telefoonnummer …567"),
    ],
)
def test_contact_in_a_sentence_at_the_contact_step_is_stored(edge, boss, typed, stored, said):
    sid, replies = asyncio.run(talk(edge, f"contact-{typed}", [*START, typed]))
    assert "bereiken" in replies[2]
    assert "staat klaar" in replies[3] and said in replies[3], replies[3]
    ticket = last_ticket(edge, sid)
    assert ticket is not None and ticket.state == "wachtrij"
    assert ticket.question == "Wanneer horen we iets over onze aanvraag?"
    assert tickets(edge).contact_for(ticket, boss) == stored
    # The tracker only ever held it masked.
    tracker = tracker_json(edge, sid)
    assert json.dumps(mask_personal_data(typed).text)[1:-1] in tracker
    assert stored not in tracker and typed not in tracker


def test_contact_given_after_the_ticket_exists_is_added(edge, boss):
    sid, replies = asyncio.run(
        talk(edge, "contact-later", [*START, "nee", "o, je kunt me toch mailen: a.bakker@zaanstad.nl"])
    )
    assert "staat klaar" in replies[3]
    assert "Ik heb je e-mailadres a…@… bij je vraag gezet" in replies[4], replies[4]
    ticket = last_ticket(edge, sid)
    assert ticket.state == "wachtrij" and tickets(edge).contact_for(ticket, boss) == "a.bakker@zaanstad.nl"


def test_greeting_and_vorige_vraag_at_the_question_step(edge):
    lines = ["hoeveel krijgt Breda?", "ik wil een medewerker spreken", "ja", "hallo", "vorige vraag", "nee"]
    sid, replies = asyncio.run(talk(edge, "question-vorige", lines))
    assert "Wat wil je de medewerker vragen" in replies[3], replies[3]
    assert "hoeveel krijgt Breda?" in replies[4] and "bereiken" in replies[4], replies[4]
    ticket = last_ticket(edge, sid)
    assert ticket is not None and ticket.question == "hoeveel krijgt Breda?"


def test_a_loop_of_nee_at_the_question_step_ends(edge):
    sid, replies = asyncio.run(talk(edge, "question-nee", ["ik wil een medewerker spreken", "ja", "nee", "nee"]))
    assert "Wat wil je de medewerker vragen" in replies[2]
    assert texts.HANDOFF_STOPPED in replies[3], replies[3]
    assert last_ticket(edge, sid) is None


@pytest.mark.parametrize("withdraw", ["trek mijn vraag maar in", "laat maar, vraag intrekken"])
def test_explicit_withdrawal_in_other_words(edge, withdraw):
    sid, replies = asyncio.run(talk(edge, f"withdraw-{withdraw}", [*START, "nee", withdraw]))
    assert "staat klaar" in replies[3]
    assert "ingetrokken" in replies[4] and "begrijp" not in replies[4], replies[4]
    assert last_ticket(edge, sid).state == "afgerond"


def test_vague_withdrawal_asks_first(edge):
    states = {}

    def check(sid, n, said):
        if n == 5:
            states["asked"] = last_ticket(edge, sid).state

    sid, replies = asyncio.run(
        talk(edge, "withdraw-vague", [*START, "nee", "hoeft niet meer, ik weet het al", "ja"], check)
    )
    assert "intrekken" in replies[4].lower() and states["asked"] == "wachtrij", replies[4]
    assert "ingetrokken" in replies[5] and "begrijp" not in replies[5], replies[5]
    assert last_ticket(edge, sid).state == "afgerond"


def code_slot_values(tracker: dict):
    return [
        e.get("value")
        for e in tracker["events"]
        if e.get("event") == "slot" and e.get("name") == "verificatiecode" and e.get("value")
    ]


@pytest.mark.parametrize("spelled", ["{c}_{d}", "{C} {D}", "spaced", "wide", "{c}.{d}"])
def test_a_code_in_any_spelling_is_used_and_never_stored(edge, spelled):
    number, code = fresh_application(edge)
    c, d = code.split("-")
    typed = {
        "spaced": " ".join(code.replace("-", "")),
        "wide": code.lower().translate({ord(ch): chr(ord(ch) + 0xFEE0) for ch in code.lower()}),
    }.get(spelled) or spelled.format(c=c.lower(), d=d.lower(), C=c, D=d)
    sid, replies = asyncio.run(talk(edge, f"code-{spelled}", ["status van mijn aanvraag", number, typed]))
    assert "Status:" in replies[2], replies[2]
    tracker = tracker_json(edge, sid)
    assert code.replace("-", "") not in compact(tracker)
    values = code_slot_values(json.loads(tracker))
    assert all(v.startswith("ref:") for v in values), values


def test_goodbye_in_the_status_form_leaves_it(edge):
    number, _ = fresh_application(edge)
    _sid, replies = asyncio.run(talk(edge, "status-doei", ["status van mijn aanvraag", number, "doei"]))
    assert "verificatiecode" in replies[1]
    assert "Dat lijkt geen verificatiecode" not in replies[2] and "Tot ziens" in replies[2], replies[2]


def test_the_third_wrong_code_says_where_the_code_is(edge):
    number, _ = fresh_application(edge)
    sid, replies = asyncio.run(talk(edge, "status-wrong", ["status van mijn aanvraag", number, "123", "4567", "89"]))
    assert "Dat lijkt geen verificatiecode" in replies[2] and "Dat lijkt geen verificatiecode" in replies[3]
    assert texts.STATUS_CODE_HELP in replies[4] and "Dat lijkt geen" not in replies[4], replies[4]
    tracker = json.loads(tracker_json(edge, sid))
    assert all(v.startswith("ref:") or v == "?" for v in code_slot_values(tracker))


def test_the_third_failed_lookup_says_where_the_code_is(edge):
    number, _ = fresh_application(edge)
    _sid, replies = asyncio.run(
        talk(edge, "status-notfound", ["status van mijn aanvraag", number, "AAAA-AAAA", "CCCC-CCCC", "DDDD-DDDD"])
    )
    assert "Ik kan geen aanvraag vinden" in replies[2] and "Ik kan geen aanvraag vinden" in replies[3]
    assert texts.STATUS_CODE_HELP in replies[4] and "Ik kan geen aanvraag vinden" not in replies[4], replies[4]
