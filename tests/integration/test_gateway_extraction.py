"""What the gateway finds in free text before anything is stored (issue 20 item 2, issue 21 M3),
against the fake Rasa of tests/integration/conftest.py: a contact typed in a sentence reaches
the ticket encrypted (decrypted and compared here) and is said back masked, also after the
ticket exists; a verificatiecode in any spelling reaches Rasa only as a placeholder and a
one-time reference. The same flows through the real Rasa stack are in
test_contact_in_sentence.py."""

from __future__ import annotations

import re
import unicodedata

import pytest

from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.status import coderefs
from bot.web.console import prepare_database
from tests.fixtures.chat import sid_of
from tests.fixtures.widget_socket import chat, say

pytestmark = pytest.mark.asyncio


async def handoff_gateway(start_gateway, fake_rasa):
    client = await start_gateway(KW_HELPDESK_HOURS="ma-zo 00:00-24:00")
    prepare_database(client.settings)
    tickets = HandoffService.from_settings(client.settings)

    def action(sender: str, text: str):
        # What the handoff form's contact step does with the masked sentence, in short.
        masked = "[e-mailadres]" in text or "[telefoonnummer]" in text
        if masked and tickets.active_ticket_for_conversation(sender) is None:
            tickets.create_ticket(sender, "Wanneer horen we iets?")
            return "Dank je, je vraag staat klaar voor een medewerker van de helpdesk."
        return None

    fake_rasa.on_message = action
    boss = StaffService.from_settings(client.settings).create_user("baas", "Bea", "correct horse battery", "beheerder")
    return client, tickets, boss


@pytest.mark.parametrize(
    "typed, stored, said",
    [
        ("je kunt me bellen op 06-12345678", "0612345678", "Ik heb je telefoonnummer …678 bij je vraag gezet"),
        (
            "stuur maar een mail naar piet@gemeente.nl, liever geen telefoon",
            "piet@gemeente.nl",
            "Ik heb je e-mailadres p…@… bij je vraag gezet",
        ),
        ("tel: 010 123 4567", "0101234567", "Ik heb je telefoonnummer …567 bij je vraag gezet"),
    ],
)
async def test_a_contact_in_a_sentence_is_stored_on_the_new_ticket(start_gateway, fake_rasa, typed, stored, said):
    client, tickets, boss = await handoff_gateway(start_gateway, fake_rasa)
    ws, ready = await chat(client)
    frames = await say(ws, "contact-0001", typed)
    reply = " ".join(m["text"] for m in frames[-1]["messages"])
    assert "staat klaar" in reply and said in reply and stored not in reply
    ticket = tickets.active_ticket_for_conversation(sid_of(ready["session"]))
    assert tickets.contact_for(ticket, boss) == stored
    # Rasa and the widget's echo only ever saw it masked.
    assert stored not in fake_rasa.webhook_calls[-1]["message"]
    assert stored not in frames[0]["text"]
    await ws.close()


async def test_a_contact_given_after_the_ticket_exists_is_added(start_gateway, fake_rasa):
    client, tickets, boss = await handoff_gateway(start_gateway, fake_rasa)
    ws, ready = await chat(client)
    sid = sid_of(ready["session"])
    tickets.create_ticket(sid, "Wanneer wordt het geld overgemaakt?")
    frames = await say(ws, "contact-0002", "o ja, je kunt me ook mailen: a.bakker@zaanstad.nl")
    texts = [m["text"] for m in frames[-1]["messages"]]
    assert any("Ik heb je e-mailadres a…@… bij je vraag gezet" in t for t in texts), texts
    ticket = tickets.active_ticket_for_conversation(sid)
    assert tickets.contact_for(ticket, boss) == "a.bakker@zaanstad.nl"
    assert ticket.contact_masked and "bakker" not in ticket.contact_masked
    # The ticket's transcript has the message masked.
    stored = [m.text for m in tickets.messages_after(ticket.id) if m.client_msg_id == "contact-0002"]
    assert stored == ["o ja, je kunt me ook mailen: [e-mailadres]"]
    # A later phone number replaces it.
    await say(ws, "contact-0003", "of bel 06 98765432")
    assert tickets.contact_for(tickets.active_ticket_for_conversation(sid), boss) == "0698765432"
    await ws.close()


def compact(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKC", text).upper())


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM_WX3D",
        "de code is K 7 Q M W X 3 D",
        "k7qm wx3d",
        "ｋ７ｑｍ－ｗｘ３ｄ",
        "code: k7qm.wx3d",
        "K7QM/WX3D graag",
        "K7 QM WX 3D",
    ],
)
async def test_a_code_in_any_spelling_reaches_rasa_only_as_a_reference(start_gateway, fake_rasa, typed):
    client = await start_gateway()
    prepare_database(client.settings)
    ws, _ = await chat(client)
    frames = await say(ws, "code-0001", typed)
    ack = frames[0]
    assert ack["type"] == "ack" and coderefs.PLACEHOLDER in ack["text"] and "K7QMWX3D" not in compact(ack["text"])
    call = fake_rasa.webhook_calls[-1]
    assert "K7QMWX3D" not in compact(call["message"]) and coderefs.PLACEHOLDER in call["message"]
    assert "K7QMWX3D" not in compact(str(call["metadata"]))
    # The reference redeems to the code, once.
    assert coderefs.take(client.settings, call["metadata"]["code_ref"]) == "K7QM-WX3D"
    assert coderefs.take(client.settings, call["metadata"]["code_ref"]) is None
    await ws.close()


async def test_a_resent_message_echoes_no_code_either(start_gateway, fake_rasa):
    client = await start_gateway()
    prepare_database(client.settings)
    ws, _ = await chat(client)
    first = await say(ws, "code-0002", "mijn code is k7qm_wx3d")
    again = await say(ws, "code-0002", "mijn code is k7qm_wx3d")
    assert again[0]["duplicate"] is True
    for ack in (first[0], again[0]):
        assert "K7QMWX3D" not in compact(ack["text"]) and coderefs.PLACEHOLDER in ack["text"]
    assert len(fake_rasa.webhook_calls) == 1
    await ws.close()
