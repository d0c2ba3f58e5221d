"""The propagation helpers, the span scrubbing and the exporters of rasa_runtime/otel.py, the
database spans (bot/core/tracing.py, bot/core/runner.py) and the action server's pick-up of a
turn's trace context; the common log format (rasa_runtime/jsonlogs.py) and its settings.

The whole stack's trace (three processes, one trace) is tests/integration/test_tracing.py.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.action_server import metadata_traceparent
from bot.core import db, runner, tracing
from bot.settings import SettingsError, load
from rasa_runtime import jsonlogs, otel

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SECRET_TEXT = "mijn mail is piet.jansen@example.nl"


@pytest.fixture
def recorded() -> Iterator[InMemorySpanExporter]:
    """Tracing on in this process, into memory, through the scrubbing every exporter gets."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "kw-test"}))
    provider.add_span_processor(SimpleSpanProcessor(otel.Scrubbed(memory)))
    before = otel._state["provider"]
    otel._state["provider"] = provider
    try:
        yield memory
    finally:
        otel._state["provider"] = before


# -- W3C trace context -------------------------------------------------------------------------


def test_a_traceparent_names_its_context_and_comes_back_unchanged():
    ctx = otel.context_from(TRACEPARENT)
    assert ctx is not None
    assert otel.traceparent(ctx) == TRACEPARENT
    with otel.attached(ctx):
        assert otel.current_ids() == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert otel.current_ids() is None


@pytest.mark.parametrize(
    "value",
    [None, "", 42, "garbage", "00-00000000000000000000000000000000-b7ad6b7169203331-01", "00-0af7-b7ad-01"],
)
def test_no_context_from_a_missing_or_malformed_traceparent(value):
    assert otel.context_from(value) is None


def test_with_tracing_off_a_turn_still_has_ids_and_its_children_share_them():
    assert not otel.enabled()
    with otel.span("gateway.turn", new_trace=True) as root:
        assert not root.is_recording()
        ids = otel.current_ids()
        assert ids is not None
        sent = otel.traceparent()
        assert sent is not None and sent.split("-")[1] == ids[0]
    # The next process continues from the traceparent: same trace id in its log lines.
    with otel.span("rasa.message", parent=otel.context_from(sent), new_trace=True):
        assert otel.current_ids()[0] == ids[0]  # type: ignore[index]
    with otel.span("gateway.turn", new_trace=True):
        assert otel.current_ids()[0] != ids[0]  # type: ignore[index]


def test_a_continued_span_is_the_child_of_the_sender_s_span(recorded):
    with otel.span("gateway.rasa", new_trace=True):
        sent = otel.traceparent()
    with otel.span("rasa.message", parent=otel.context_from(sent)):
        pass
    by_name = {s.name: s for s in recorded.get_finished_spans()}
    parent, child = by_name["gateway.rasa"], by_name["rasa.message"]
    assert child.context.trace_id == parent.context.trace_id
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert parent.parent is None


def test_the_conversation_pseudonym_is_the_gateway_s_log_id_and_current_inside_its_span():
    from bot.web.sessions import ChatSession

    session = ChatSession.__new__(ChatSession)
    object.__setattr__(session, "sid", "s-0123456789")
    assert otel.pseudonym("s-0123456789") == session.log_id
    with otel.span("rasa.message", {"kw.conversation": otel.pseudonym("s-0123456789")}, new_trace=True):
        assert otel.current_conversation() == session.log_id
    assert otel.current_conversation() is None


# -- what leaves a process ----------------------------------------------------------------------


def test_only_safe_attributes_leave_and_an_exception_is_its_type(recorded):
    with pytest.raises(ValueError), otel.span("action", {"kw.action": "action_faq", "text": SECRET_TEXT}) as span:
        span.set_attribute("sender_id", "s-0123456789")
        span.record_exception(ValueError(SECRET_TEXT))
        raise ValueError(SECRET_TEXT)
    (done,) = recorded.get_finished_spans()
    assert dict(done.attributes) == {"kw.action": "action_faq", "error.type": "ValueError"}
    assert [dict(e.attributes) for e in done.events] == [{"exception.type": "ValueError"}]
    assert done.status.description is None
    assert SECRET_TEXT not in json.dumps(otel.span_record(done)) and "s-0123456789" not in str(done.to_json())


def test_the_trace_file_has_one_json_line_per_span(tmp_path):
    path = tmp_path / "spans.jsonl"
    provider = TracerProvider(resource=Resource.create({"service.name": "kw-file"}))
    provider.add_span_processor(SimpleSpanProcessor(otel.Scrubbed(otel.FileSpanExporter(str(path)))))
    tracer = provider.get_tracer("t")
    with (
        tracer.start_as_current_span("outer", attributes={"kw.outcome": "answered", "text": SECRET_TEXT}),
        tracer.start_as_current_span("inner"),
    ):
        pass
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["name"] for line in lines] == ["inner", "outer"]
    inner, outer = lines
    assert inner["parent_id"] == outer["span_id"] and inner["trace_id"] == outer["trace_id"]
    assert outer["service"] == "kw-file" and outer["attributes"] == {"kw.outcome": "answered"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that keeps what it is sent."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_the_rasa_process_exports_otlp_json_over_http():
    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Collector.received.clear()
    try:
        exporter = otel.OtlpJsonExporter(f"http://127.0.0.1:{server.server_port}/")
        provider = TracerProvider(resource=Resource.create({"service.name": "kw-rasa"}))
        provider.add_span_processor(SimpleSpanProcessor(otel.Scrubbed(exporter)))
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("rasa.message", context=otel.context_from(TRACEPARENT)) as span:
            span.set_attribute("kw.found", True)
            span.set_attribute("text", SECRET_TEXT)
    finally:
        server.shutdown()
        thread.join()
    (path, kind, body), *_ = Collector.received
    assert path == "/v1/traces" and kind == "application/json"
    sent = json.loads(body)
    (resource,) = sent["resourceSpans"]
    assert {"key": "service.name", "value": {"stringValue": "kw-rasa"}} in resource["resource"]["attributes"]
    (item,) = resource["scopeSpans"][0]["spans"]
    assert item["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert item["parentSpanId"] == "b7ad6b7169203331"
    assert item["kind"] == 1 and item["name"] == "rasa.message"
    assert item["attributes"] == [{"key": "kw.found", "value": {"boolValue": True}}]
    assert SECRET_TEXT.encode() not in body


def test_our_runtime_exports_otlp_protobuf_over_http_to_the_same_endpoint():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Collector.received.clear()
    try:
        provider = TracerProvider(resource=Resource.create({"service.name": "kw-gateway"}))
        exporter = tracing.otlp_exporter(f"http://127.0.0.1:{server.server_port}")
        provider.add_span_processor(SimpleSpanProcessor(otel.Scrubbed(exporter)))
        with provider.get_tracer("t").start_as_current_span("gateway.turn", attributes={"text": SECRET_TEXT}):
            pass
    finally:
        server.shutdown()
        thread.join()
    (path, kind, body), *_ = Collector.received
    assert path == "/v1/traces" and kind == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    (span,) = request.resource_spans[0].scope_spans[0].spans
    assert span.name == "gateway.turn" and list(span.attributes) == []
    assert SECRET_TEXT.encode() not in body


def test_a_collector_that_is_down_fails_the_export_without_raising():
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = otel.OtlpJsonExporter("http://127.0.0.1:9", timeout_s=1.0)
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("x"):
        pass
    assert exporter.export(memory.get_finished_spans()) is SpanExportResult.FAILURE


def test_tracing_is_off_without_an_endpoint_or_a_file():
    assert otel.setup("kw-x") is None and otel.setup_from_env("kw-x", {}) is None
    assert not otel.enabled()


# -- database spans -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT * FROM t WHERE x = ?", "SELECT"),
        ("  insert into t values (?)", "INSERT"),
        ("(SELECT 1)", "SELECT"),
        ("VACUUM", "OTHER"),
        ("", "OTHER"),
    ],
)
def test_a_statement_is_named_by_its_kind_only(statement, kind):
    assert tracing.statement_kind(statement) == kind


def test_a_db_call_is_a_child_of_the_turn_with_a_span_per_statement_and_no_values(recorded, tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (email TEXT)"))

    def work() -> int:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO people VALUES (:email)"), {"email": "piet.jansen@example.nl"})
            return conn.execute(text("SELECT count(*) FROM people")).scalar_one()

    recorded.clear()
    with otel.span("gateway.turn", new_trace=True):
        assert runner.run_bounded(work, 5.0) == 1
    spans = recorded.get_finished_spans()
    by_name = {s.name: s for s in spans}
    turn, call = by_name["gateway.turn"], by_name["db.call"]
    assert call.parent.span_id == turn.context.span_id
    statements = [s for s in spans if s.name.startswith("db ")]
    assert {s.name for s in statements} >= {"db INSERT", "db SELECT"}
    for s in statements:
        assert s.parent.span_id == call.context.span_id
        assert s.context.trace_id == turn.context.trace_id
        assert set(s.attributes) == {"db.system.name", "db.operation.name"}
        assert s.attributes["db.system.name"] == "sqlite"
    assert "piet.jansen" not in json.dumps([otel.span_record(s) for s in spans])
    engine.dispose()


def test_a_failed_statement_ends_its_span_as_failed(recorded, tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    with otel.span("gateway.turn", new_trace=True), pytest.raises(OperationalError), engine.begin() as conn:
        conn.execute(text("SELECT * FROM missing_table"))
    (failed,) = [s for s in recorded.get_finished_spans() if s.name == "db SELECT"]
    assert failed.status.status_code.name == "ERROR" and failed.attributes["error.type"] == "OperationalError"
    engine.dispose()


def test_database_work_outside_a_turn_makes_no_trace(recorded, tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'app.db'}")

    def work() -> int:
        with engine.begin() as conn:
            return conn.execute(text("SELECT 1")).scalar_one()

    recorded.clear()
    assert runner.run_bounded(work, 5.0) == 1
    assert recorded.get_finished_spans() == ()
    engine.dispose()


# -- the action server --------------------------------------------------------------------------


def test_the_action_server_finds_the_turn_in_the_latest_message_metadata():
    call = {"tracker": {"latest_message": {"metadata": {"traceparent": TRACEPARENT, "msg_id": "m1"}}}}
    assert metadata_traceparent(call) == TRACEPARENT
    bodies: list[Any] = [
        None,
        [],
        {"tracker": None},
        {"tracker": {"latest_message": {}}},
        {"tracker": {"latest_message": {"metadata": {"traceparent": 1}}}},
    ]
    for body in bodies:
        assert metadata_traceparent(body) is None


# -- logs ---------------------------------------------------------------------------------------


def record(message: str, name: str = "bot.web.chat", exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError(SECRET_TEXT)
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, info)


def test_every_line_has_the_common_fields_and_inside_a_turn_its_ids():
    formatter = jsonlogs.Formatter("gateway")
    outside = json.loads(formatter.format(record('{"event":"message","replies":2}')))
    assert outside["event"] == "message" and outside["replies"] == 2
    assert {"ts", "level", "service", "logger", "event"} <= set(outside) and "trace_id" not in outside
    assert outside["service"] == "gateway" and outside["level"] == "warning"
    with otel.span("gateway.turn", {"kw.conversation": "abcdef012345"}, new_trace=True):
        inside = json.loads(formatter.format(record("plain text from a library")))
        ids = otel.current_ids()
    assert inside["event"] == "log" and inside["msg"] == "plain text from a library"
    assert inside["trace_id"] == ids[0] and inside["conversation"] == "abcdef012345"  # type: ignore[index]


def test_an_exception_is_its_type_and_place_never_its_text():
    line = jsonlogs.Formatter("actions").format(record("failed", exc=True))
    assert SECRET_TEXT not in line and json.loads(line)["exc"] == "ValueError"


def test_rasa_s_structlog_lines_keep_only_their_event_name():
    message = json.dumps({"event": "processor.message", "text": SECRET_TEXT, "log_level": "info"})
    line = json.loads(jsonlogs.Formatter("rasa", structlog_json=True).format(record(message, "rasa.core")))
    assert line["event"] == "processor.message" and SECRET_TEXT not in json.dumps(line)


def test_the_text_format_has_the_same_fields_on_one_readable_line():
    with otel.span("gateway.turn", {"kw.conversation": "abcdef012345"}, new_trace=True):
        line = jsonlogs.Formatter("gateway", text=True).format(record('{"event":"message","replies":2}'))
    assert " WARNING gateway message replies=2 " in line and "conversation=abcdef012345" in line
    assert "trace_id=" in line and not line.startswith("{")


def test_prints_and_tracebacks_become_json_lines():
    target = io.StringIO()
    wrapper = jsonlogs.LineWrapper(target, "rasa", "error")
    wrapper.write('{"event":"already"}\nTraceback (most recent call last):\n  File "x.py"')
    wrapper.flush()
    lines = [json.loads(line) for line in target.getvalue().splitlines()]
    assert lines[0] == {"event": "already"}
    assert [line["msg"] for line in lines[1:]] == ["Traceback (most recent call last):", '  File "x.py"']
    assert all(line["event"] == "output" and line["service"] == "rasa" for line in lines[1:])


def test_the_log_format_is_text_in_a_demo_and_json_in_production_unless_set():
    secrets = {
        name: "x" * 40
        for name in (
            "KW_RASA_TOKEN",
            "KW_PORTAL_JWT_SECRET",
            "KW_API_TOKEN",
            "KW_COOKIE_SECRET",
            "KW_OPS_TOKEN",
            "KW_IDENTITY_KEY",
        )
    }
    from tests.fixtures.databases import TEST_CONTACT_KEY

    base = {"KW_VAR_DIR": "/nonexistent-kw", "KW_CONTACT_KEY": TEST_CONTACT_KEY, **secrets}
    assert load(base).log_format == "text"
    assert load({**base, "KW_LOG_FORMAT": "json"}).log_format == "json"
    production = {**base, "KW_ENV": "production", "KW_ALLOWED_ORIGINS": "https://kw.example"}
    try:
        assert load(production).log_format == "json"
    except SettingsError as exc:  # production may ask for more settings than this test gives
        pytest.fail(str(exc))
    with pytest.raises(SettingsError, match="KW_LOG_FORMAT"):
        load({**base, "KW_LOG_FORMAT": "xml"})
    settings = load({**base, "KW_OTLP_ENDPOINT": "http://collector:4318", "KW_TRACE_FILE": "/tmp/s.jsonl"})
    assert (settings.otlp_endpoint, settings.trace_file) == ("http://collector:4318", "/tmp/s.jsonl")
    with pytest.raises(SettingsError, match="KW_OTLP_ENDPOINT"):
        load({**base, "KW_OTLP_ENDPOINT": "collector:4317"})
    assert load(base).otlp_endpoint == "" and load(base).trace_file == ""


def test_the_rasa_process_defaults_its_log_format_as_the_settings_do():
    assert jsonlogs.format_from_env({}) == "text"
    assert jsonlogs.format_from_env({"KW_ENV": "production"}) == "json"
    assert jsonlogs.format_from_env({"KW_ENV": "production", "KW_LOG_FORMAT": "text"}) == "text"
    assert jsonlogs.format_from_env({"KW_LOG_FORMAT": "JSON"}) == "json"


def test_the_launcher_passes_logs_and_tracing_to_every_child():
    from bot.launcher import child_env
    from tests.fixtures.databases import TEST_CONTACT_KEY

    settings = load(
        {
            "KW_VAR_DIR": "/nonexistent-kw",
            "KW_CONTACT_KEY": TEST_CONTACT_KEY,
            "KW_RASA_TOKEN": "t" * 40,
            "KW_PORTAL_JWT_SECRET": "p" * 40,
            "KW_API_TOKEN": "a" * 40,
            "KW_COOKIE_SECRET": "c" * 40,
            "KW_OPS_TOKEN": "o" * 40,
            "KW_IDENTITY_KEY": "i" * 40,
            "KW_LOG_FORMAT": "json",
            "KW_OTLP_ENDPOINT": "http://127.0.0.1:4318",
            "KW_TRACE_FILE": "/tmp/kw-spans.jsonl",
        }
    )
    env = child_env(settings)
    assert env["KW_LOG_FORMAT"] == "json" and env["KW_LOG_LEVEL"] == "INFO"
    assert env["KW_OTLP_ENDPOINT"] == "http://127.0.0.1:4318" and env["KW_TRACE_FILE"] == "/tmp/kw-spans.jsonl"


def test_the_launcher_s_lines_are_json_too(tmp_path):
    """`python -m bot run` with KW_LOG_FORMAT=json: even its refusal of a taken port (printed
    for the operator) is a JSON line with the common fields."""
    import socket
    import subprocess

    from bot.launcher import isolated_env
    from bot.settings import ROOT

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = isolated_env(tmp_path / "var", {"KW_LOG_FORMAT": "json"})
        env["KW_ACTIONS_PORT"] = str(taken.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert lines and all({"ts", "level", "service", "event"} <= set(line) for line in lines)
    assert all(line["service"] == "launcher" for line in lines)
    assert any("KW_ACTIONS_PORT" in line.get("msg", "") for line in lines)
