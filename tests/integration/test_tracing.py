"""One user turn through the real stack gives one trace across the three processes, and the logs
of every process are JSON lines with the common fields, the turn's trace id, and no message text.

The stack is started as `python -m bot run` starts it (launcher.Stack: the action server, Rasa
on the trained model) with a gateway process in front, all with ``KW_TRACE_FILE`` (each process
appends its spans to one file of JSON lines, rasa_runtime/otel.py) and ``KW_LOG_FORMAT=json``.
One widget message that a custom action answers (the FAQ, ``action_answer_faq``) is sent over
the gateway's WebSocket, then one with an e-mail address and a phone number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import RasaStack, start_stack
from tests.fixtures.chat import sid_of
from tests.fixtures.gateway import GatewayProcess, gateway_for, poll

#: Typed by the user: answered by action_answer_faq. Neither it nor the conversation id may be
#: in a span or a log line.
QUESTION = "Vanaf wanneer kon je aanvragen?"
#: A second turn with personal data: neither the data nor its masked sentence in a span or a log.
PERSONAL = "mijn mail is piet.jansen@example.nl en mijn nummer 0612345678"
SECRETS = (QUESTION, "wanneer kon je aanvragen", "piet.jansen", "example.nl", "0612345678", "mijn nummer")
SERVICES = {"kw-gateway", "kw-rasa", "kw-actions"}
#: The fields of every log line (rasa_runtime/jsonlogs.py).
COMMON_FIELDS = {"ts", "level", "service", "logger", "event"}


@dataclass
class Traced:
    stack: RasaStack
    gateway: GatewayProcess
    spans_path: Path
    logs: dict[str, Path]


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Iterator[Traced]:
    var_dir = tmp_path_factory.mktemp("traced-var")
    spans_path = var_dir / "spans.jsonl"
    settings = {"KW_TRACE_FILE": str(spans_path), "KW_LOG_FORMAT": "json", "KW_RASA_WORKERS": "1"}
    stack = start_stack(var_dir, settings)
    gateway = None
    try:
        gateway = gateway_for(stack, var_dir / "logs", **settings)
        logs = {
            "gateway": var_dir / "logs" / "gateway.log",
            "actions": var_dir / "logs" / "actieserver.log",
            "rasa": var_dir / "logs" / "rasa.log",
        }
        yield Traced(stack, gateway, spans_path, logs)
    finally:
        if gateway is not None:
            gateway.stop()
        stack.stack.stop()


@pytest.fixture(scope="module")
def turn(traced) -> dict[str, Any]:
    """One user turn over the widget's socket: its conversation id and the trace's spans."""
    import asyncio

    async def talk() -> str:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{traced.gateway.url}/chat/ws", headers={"Origin": traced.gateway.url}) as ws,
        ):
            await ws.send_json({"type": "hello"})
            ready = await ws.receive_json(timeout=10)
            assert ready["type"] == "ready", ready
            for number, text in enumerate((QUESTION, PERSONAL), 1):
                await ws.send_json({"type": "message", "id": f"trace-msg-{number:04d}", "text": text})
                while True:
                    frame = await ws.receive_json(timeout=60)
                    if frame["type"] in ("reply", "error"):
                        break
                assert frame["type"] == "reply", frame
                if text == QUESTION:
                    assert "7 juli 2025" in json.dumps(frame), frame
            return sid_of(ready["session"])

    sid = asyncio.run(talk())

    def roots() -> list[dict[str, Any]] | None:
        found = [s for s in read_spans(traced.spans_path) if s["name"] == "gateway.turn"]
        return sorted(found, key=lambda s: s["start_ns"]) if len(found) == 2 else None

    # Each process writes a span when it ends; the gateway's turn ends last, after its reply.
    first, second = poll(roots, 30, "the two turns' spans in the trace file")
    spans = [s for s in read_spans(traced.spans_path) if s["trace_id"] == first["trace_id"]]
    return {
        "sid": sid,
        "spans": spans,
        "trace_id": first["trace_id"],
        "traces": {first["trace_id"], second["trace_id"]},
    }


def read_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_one_turn_is_one_trace_across_gateway_rasa_and_the_action_server(traced, turn):
    spans = turn["spans"]
    by_id = {s["span_id"]: s for s in spans}
    assert {s["service"] for s in spans} == SERVICES, sorted((s["service"], s["name"]) for s in spans)
    # One root, the gateway's turn; every other span's parent is in the same trace.
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "gateway.turn" and root["service"] == "kw-gateway" and root["kind"] == "SERVER"
    assert root["attributes"]["kw.outcome"] == "answered" and root["attributes"]["kw.kind"] == "text"
    assert all(s["parent_id"] in by_id for s in spans if s is not root)

    def parent(span: dict[str, Any]) -> dict[str, Any]:
        return by_id[span["parent_id"]]

    def named(name: str, service: str) -> list[dict[str, Any]]:
        return [s for s in spans if s["name"] == name and s["service"] == service]

    # gateway.turn -> gateway.rasa (the call) -> rasa.message (Rasa's channel, from the metadata)
    (call,) = named("gateway.rasa", "kw-gateway")
    assert parent(call) is root and call["kind"] == "CLIENT"
    (message,) = named("rasa.message", "kw-rasa")
    assert parent(message) is call and message["kind"] == "SERVER"
    # Rasa's steps: NLU, the tracker store, each action, all inside its message span.
    assert named("rasa.parse", "kw-rasa") and parent(named("rasa.parse", "kw-rasa")[0]) is message
    for name in ("tracker_store.retrieve", "tracker_store.save"):
        assert named(name, "kw-rasa"), name
        assert all(parent(s) is message for s in named(name, "kw-rasa")), name
    actions = {s["attributes"]["kw.action"]: s for s in named("rasa.action", "kw-rasa")}
    assert "action_answer_faq" in actions and all(parent(s) is message for s in actions.values())
    # The action server's spans continue from the header Rasa sent within its action span:
    # rasa.action -> rasa.http -> rasa-sdk's webhook span -> our action span.
    (faq,) = [s for s in named("action", "kw-actions") if s["attributes"]["kw.action"] == "action_answer_faq"]
    chain = [faq]
    while chain[-1]["service"] == "kw-actions":
        chain.append(parent(chain[-1]))
    assert chain[-1]["name"] == "rasa.http" and parent(chain[-1]) is actions["action_answer_faq"]
    assert any(s["name"] == "create_app.webhook" for s in chain), [s["name"] for s in chain]
    # The conversation is its pseudonym, the same in every process.
    pseudonyms = {s["attributes"]["kw.conversation"] for s in spans if "kw.conversation" in s["attributes"]}
    assert len(pseudonyms) == 1 and {root["service"], message["service"], faq["service"]} == SERVICES
    assert pseudonyms <= {root["attributes"]["kw.conversation"]}
    # The database calls of the turn are its spans too (the gateway's ticket look-up, at least),
    # with the statement's kind only.
    statements = [s for s in spans if s["name"].startswith("db ") and s["name"] != "db.call"]
    assert statements and any(s["name"] == "db.call" for s in spans)
    for s in statements:
        assert set(s["attributes"]) == {"db.system.name", "db.operation.name"}
        ancestors = [parent(s)]
        while ancestors[-1]["parent_id"] is not None:
            ancestors.append(parent(ancestors[-1]))
        assert any(a["name"] == "db.call" for a in ancestors), [a["name"] for a in ancestors]


def test_no_span_carries_the_message_or_the_conversation_id(traced, turn):
    text = traced.spans_path.read_text(encoding="utf-8")
    assert text.strip()
    for secret in (*SECRETS, QUESTION.lower(), turn["sid"]):
        assert secret not in text, secret
    assert {json.loads(line)["trace_id"] for line in text.splitlines()} == turn["traces"]
    for span in turn["spans"]:
        assert "sender_id" not in span["attributes"]
        for value in span["attributes"].values():
            assert "aanvragen" not in str(value).lower(), (span["name"], value)


def test_every_process_logs_json_lines_with_the_turn_s_trace_id_and_no_message(traced, turn):
    lines_of: dict[str, list[dict[str, Any]]] = {}
    for service, path in traced.logs.items():
        raw = path.read_text(encoding="utf-8")
        for secret in (*SECRETS, turn["sid"]):
            assert secret not in raw, (service, secret)
        lines = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                pytest.fail(f"{path.name}:{number} is not JSON: {line[:200]}")
            assert isinstance(record, dict) and set(record) >= COMMON_FIELDS, (path.name, number, record)
            assert record["service"] == service, (path.name, number, record)
            lines.append(record)
        lines_of[service] = lines
    trace_id = turn["trace_id"]
    for service in ("gateway", "actions"):
        in_turn = [r for r in lines_of[service] if r.get("trace_id") == trace_id]
        assert in_turn, (service, [r["event"] for r in lines_of[service]][-20:])
        # Inside the turn: its pseudonymous conversation id with the trace id.
        assert any(r.get("conversation") for r in in_turn), (service, in_turn)
    # The gateway's line for each message names its turn's trace and the conversation's pseudonym.
    messages = [r for r in lines_of["gateway"] if r["event"] == "message"]
    assert [m["trace_id"] for m in messages] == [trace_id, *(turn["traces"] - {trace_id})]
    assert all(m["conversation"] == m["session"] for m in messages)
    assert messages[1]["masked"] == ["email", "phone"]  # what was masked, never what it was
    # Lines outside the turns carry no trace id.
    ids = {r["trace_id"] for lines in lines_of.values() for r in lines if "trace_id" in r}
    assert ids == turn["traces"], ids
