"""Off-path conversations (issue 12), played through the real gateway process and the real Rasa
stack. The conversations and what each reply must hold are data: tests/data/conversations.yml
(its header explains the checks)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from bot.core import db
from bot.handoff.models import ROLE_BEHEERDER
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService, UserExists
from bot.settings import ROOT
from bot.status.feed import SOURCE_API, apply_change
from bot.status.verification import generate_code
from tests.fixtures.chat import Chat, reply_text
from tests.fixtures.gateway import GatewayProcess, gateway_for

CONVERSATIONS: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "data" / "conversations.yml").read_text(encoding="utf-8")
)
#: What a conversation and a turn may hold (the data file's header explains each check). The
#: player reads only these keys: a misspelt check would be skipped without a word.
CONVERSATION_KEYS = {"id", "family", "turns", "status", "application"}
TURN_KEYS = {
    "say",
    "press",
    "expect",
    "expect_any",
    "absent",
    "buttons",
    "buttons_any",
    "handoff",
    "ticket",
    "shared",
    "ticket_has",
    "contact",
}


def test_each_conversation_has_its_own_id():
    # The id names the test and the transcript file in results/: a second one would overwrite it.
    ids = [c["id"] for c in CONVERSATIONS]
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_no_conversation_holds_a_check_the_player_would_skip():
    unknown = [
        (c["id"], sorted(set(turn) - TURN_KEYS)) for c in CONVERSATIONS for turn in c["turns"] if set(turn) - TURN_KEYS
    ]
    unknown += [(c["id"], sorted(set(c) - CONVERSATION_KEYS)) for c in CONVERSATIONS if set(c) - CONVERSATION_KEYS]
    assert unknown == []


def test_every_turn_says_or_presses_exactly_one_thing():
    assert [
        (c["id"], turn) for c in CONVERSATIONS for turn in c["turns"] if len({"say", "press"} & set(turn)) != 1
    ] == []


@pytest.fixture(scope="module")
def talk_edge(rasa_stack, tmp_path_factory) -> Iterator[GatewayProcess]:
    # Each conversation speaks from its own address (through the trusted proxy), so the
    # per-client rate limits see many users, as in production.
    proc = gateway_for(rasa_stack, tmp_path_factory.mktemp("talk"), KW_TRUSTED_PROXIES="127.0.0.1/32")
    yield proc
    proc.stop()


def application(edge: GatewayProcess, status: str, short: bool, fields: dict[str, Any] | None = None) -> dict[str, str]:
    """A new application of this conversation alone; its code has a digit, so it is found in
    any sentence (a code of letters only is taken from a sentence only when asked for).
    ``fields``: the conversation's `application` (granted_amount_cents, requested as
    [thema, jaar, cents] lists, next_step, next_step_date as YYYY-MM-DD)."""
    settings = edge.rasa_stack.settings
    number = f"KW-2026-00{random.randrange(10, 99)}" if short else f"KW-2026-{random.randrange(1000, 9999)}"
    code = generate_code()
    while not any(c.isdigit() for c in code):
        code = generate_code()
    extra: dict[str, Any] = {"missing_items": "De begroting voor 2027."} if status == "aanvulling_nodig" else {}
    for name, value in (fields or {}).items():
        if name == "requested":
            value = [tuple(item) for item in value]
        elif name == "next_step_date":
            value = dt.date.fromisoformat(value)
        extra[name] = value
    with db.session_scope(db.get_engine(settings.database_url, 10.0)) as session:
        apply_change(
            session,
            number,
            source=SOURCE_API,
            change_id=f"talk-{uuid.uuid4().hex}",
            status=status,
            code=code,
            gemeente="Breda",
            **extra,
        )
    year, digits = number.rsplit("-", 1)
    CODES_GIVEN.append(code)
    return {"number": number, "code": code, "number_short": f"{year}-{int(digits)}"}


#: The verification codes the conversations were given: secrets, never in a log or a metric.
CODES_GIVEN: list[str] = []


def uses(conv: dict[str, Any], name: str) -> bool:
    return any("{" + name + "}" in str(turn.get("say", "")) for turn in conv["turns"])


class Transcript(list):
    def __str__(self) -> str:
        return "\n".join(self)


async def press(chat: Chat, payload: str, title: str) -> dict[str, Any]:
    mid = uuid.uuid4().hex
    await chat.socket.send_json({"type": "button", "id": mid, "payload": payload, "title": title})
    return await chat.until(lambda f: (f.get("id") == mid and f["type"] != "ack") or f["type"] == "error")


def ticket_of(edge: GatewayProcess, sid: str):
    service = HandoffService.from_settings(edge.rasa_stack.settings)
    tickets = service.tickets_for_conversation(sid)
    return tickets[-1] if tickets else None


async def play(edge: GatewayProcess, conv: dict[str, Any]) -> None:
    values: dict[str, str] = {}
    if uses(conv, "number") or uses(conv, "code") or uses(conv, "number_short"):
        values = application(edge, conv.get("status", "ontvangen"), uses(conv, "number_short"), conv.get("application"))
    ip = "10.{}.{}.{}".format(*zlib.crc32(conv["id"].encode()).to_bytes(4, "big")[1:])
    log = Transcript()
    try:
        await converse(edge, conv, values, ip, log)
    finally:
        # For docs/conversations.md and for reading a failure: results/ is ignored by git.
        out = ROOT / "results" / "conversations"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{conv['id']}.txt").write_text(str(log) + "\n", encoding="utf-8")


async def converse(
    edge: GatewayProcess, conv: dict[str, Any], values: dict[str, str], ip: str, log: Transcript
) -> None:
    async with Chat(edge, ip) as chat:
        ready = await chat.hello()
        assert ready["type"] == "ready", ready
        offered: dict[str, str] = {}
        for turn in conv["turns"]:
            if "say" in turn:
                text = turn["say"].format(**values)
                log.append(f"U: {text}")
                frame = await chat.say(text)
            else:
                payload = turn["press"]
                assert payload in offered, f"{payload} was not offered\n{log}"
                log.append(f"U: [{offered[payload]}]")
                frame = await press(chat, payload, offered[payload])
            assert frame["type"] == "reply", f"{frame}\n{log}"
            said = reply_text(frame)
            log.append("B: " + said.replace("\n", " "))
            offered = {b["payload"]: b["title"] for m in frame["messages"] for b in m.get("buttons", [])}
            check(turn, said, offered, log)
            if "handoff" in turn:
                state = await chat.until(lambda f: f["type"] == "handoff", timeout=10)
                got = (state["handoff"] or {}).get("state") or "none"
                assert got == turn["handoff"], f"handoff {got}\n{log}"
            if "ticket" in turn or "shared" in turn or "ticket_has" in turn or "contact" in turn:
                check_ticket(edge, chat.sid, turn, log)


def check(turn: dict[str, Any], said: str, offered: dict[str, str], log: Transcript) -> None:
    low = said.lower()
    for text in turn.get("expect", []):
        assert text.lower() in low, f"missing {text!r}\n{log}"
    for group in turn.get("expect_any", []):
        assert any(t.lower() in low for t in group), f"none of {group!r}\n{log}"
    for text in turn.get("absent", []):
        assert text.lower() not in low, f"unexpected {text!r}\n{log}"
    for payload in turn.get("buttons", []):
        assert payload in offered, f"button {payload} not offered ({list(offered)})\n{log}"
    for group in turn.get("buttons_any", []):
        assert set(group) & set(offered), f"none of the buttons {group} offered ({list(offered)})\n{log}"


def check_ticket(edge: GatewayProcess, sid: str, turn: dict[str, Any], log: Transcript) -> None:
    ticket = ticket_of(edge, sid)
    if "ticket" in turn:
        got = ticket.state if ticket is not None else "none"
        assert got == turn["ticket"], f"ticket {got}\n{log}"
    if ticket is None:
        return
    detail = HandoffService.from_settings(edge.rasa_stack.settings).ticket_detail(ticket.id)
    texts = [m.text for m in detail.messages]
    if "shared" in turn:
        # The conversation before the handoff: the user's first message is in it when shared.
        first = log[0][3:]
        assert any(first in t for t in texts) == turn["shared"], f"shared: {texts}\n{log}"
    for text in turn.get("ticket_has", []):
        assert any(text in t for t in texts), f"ticket lacks {text!r}: {texts}\n{log}"
    if "contact" in turn:
        # What the medewerker will use to reach the user: decrypted, as a beheerder sees it.
        want = turn["contact"]
        got = stored_contact(edge, ticket)
        assert got == (None if want == "none" else want), f"contact {got!r}\n{log}"


def stored_contact(edge: GatewayProcess, ticket) -> str | None:
    settings = edge.rasa_stack.settings
    staff = StaffService.from_settings(settings)
    name = "talk-beheer"
    try:
        admin = staff.create_user(name, "Beheer Gesprekken", "talk-" + uuid.uuid4().hex, ROLE_BEHEERDER)
    except UserExists:
        admin = next(u for u in staff.list_users() if u.username == name)
    return HandoffService.from_settings(settings).contact_for(ticket.id, admin)


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=[c["id"] for c in CONVERSATIONS])
def test_conversation(talk_edge, conv):
    asyncio.run(play(talk_edge, conv))


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+31|0)[\d \-]{8,13}\d")


def personal_data_typed() -> set[str]:
    """Every e-mail address and phone number the conversations type, as typed and as digits only."""
    found: set[str] = set()
    for conv in CONVERSATIONS:
        for turn in conv["turns"]:
            text = str(turn.get("say", ""))
            found.update(EMAIL.findall(text))
            for phone in PHONE.findall(text):
                digits = re.sub(r"\D", "", phone)
                if len(digits) >= 10:
                    found.update({phone.strip(), digits})
    return found


def test_no_log_line_or_metric_holds_what_the_users_typed(talk_edge):
    # Issue 22: after the whole conversation suite (this test runs after it, in file order),
    # no process's log and no /metrics carries an address, a phone number or a code typed in it.
    typed = personal_data_typed() | set(CODES_GIVEN)
    assert {"k.jansen@breda.nl", "0612345678"} <= typed  # the data file still types such things
    logs = [*sorted((talk_edge.rasa_stack.settings.var_dir / "logs").glob("*.log")), talk_edge.log_path]
    texts = {path.name: path.read_text(encoding="utf-8", errors="replace") for path in logs}
    assert {"rasa.log", "actieserver.log", "gateway.log"} <= set(texts), sorted(texts)
    assert all(texts[name].count("\n") > 10 for name in ("rasa.log", "actieserver.log", "gateway.log"))
    with urllib.request.urlopen(f"{talk_edge.url}/metrics", timeout=10) as resp:
        texts["/metrics"] = resp.read().decode("utf-8")
    assert "kw_" in texts["/metrics"]
    leaks = sorted((name, value) for name, text in texts.items() for value in typed if value in text)
    assert leaks == []
