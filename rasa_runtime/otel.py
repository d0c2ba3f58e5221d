"""Traces of one user turn across the stack's processes (OpenTelemetry), shared by both runtimes.

Imported by the Rasa process as ``otel`` (serve.py's directory is first on its path) and by our
runtime as ``rasa_runtime.otel`` (bot/core/tracing.py): it needs only the standard library and
opentelemetry-api/-sdk, which both lock files pin. The Rasa runtime cannot have the OTLP
exporters (they need protobuf >= 5; TensorFlow pins protobuf 4), so OTLP goes out of it as
OTLP/HTTP with JSON bodies (``OtlpJsonExporter``); our runtime uses the official OTLP/HTTP
exporter (protobuf) for the same endpoint.

- One turn, one trace: the gateway starts the turn's span and sends its W3C ``traceparent`` in
  the message metadata (``TRACEPARENT``); the Rasa process continues it from there and sends
  its own ``traceparent`` header with each action call; the action server continues from that
  header (or, without one, from the tracker's latest message metadata).
- Off by default (``setup`` with no endpoint and no file does nothing): spans are then not
  recorded, but the turn's ids still travel, so every log line of a turn carries its trace id
  (``current_ids``).
- Nothing personal leaves a process in a span: every exporter is wrapped in ``Scrubbed``, which
  keeps only the attributes named in ``SAFE_ATTRIBUTES`` (no message text, no sender id; a
  conversation appears only as its pseudonym, ``pseudonym``), exception events only as their
  type and a status without its description (an exception's text may quote the user).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

#: The metadata key (gateway -> Rasa) and HTTP header (Rasa -> action server) of the W3C trace
#: context.
TRACEPARENT = "traceparent"
#: The settings each process reads (bot/settings.py for ours; the launcher passes them on).
ENDPOINT_ENV = "KW_OTLP_ENDPOINT"
FILE_ENV = "KW_TRACE_FILE"
#: Instrumentation scope of our spans.
SCOPE = "kansrijke-wijk"
#: Seconds an OTLP export may take.
EXPORT_TIMEOUT_S = 5.0

#: The only span attributes that leave a process. Ours (``kw.*``), database call kinds, HTTP
#: route and status, and the names rasa-sdk's own instrumentation records (action, event, slot
#: and response names: the domain's, never a value). ``sender_id`` (rasa-sdk sets it) is not
#: here: the conversation is ``kw.conversation``, a pseudonym.
SAFE_ATTRIBUTES = frozenset(
    {
        "kw.conversation",
        "kw.action",
        "kw.kind",
        "kw.transport",
        "kw.outcome",
        "kw.replies",
        "kw.worker",
        "kw.store",
        "kw.found",
        "kw.events",
        "error.type",
        "db.system.name",
        "db.operation.name",
        "http.request.method",
        "http.response.status_code",
        "http.method",
        "http.route",
        "action_name",
        "next_action",
        "class_name",
        "version",
        "events",
        "slots",
        "utters",
        "message_count",
        "slots_to_validate",
        "validation_events",
    }
)

_propagator = TraceContextTextMapPropagator()
_state: dict[str, TracerProvider | None] = {"provider": None}
#: The pseudonymous id of the conversation whose turn runs in this context (log lines).
_conversation: contextvars.ContextVar[str | None] = contextvars.ContextVar("kw_conversation", default=None)


def pseudonym(sender_id: str) -> str:
    """The conversation's pseudonym in logs and spans: the gateway's ``ChatSession.log_id``
    (bot/web/sessions.py), so one conversation has one id in every process."""
    return hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def current_conversation() -> str | None:
    """The pseudonymous id of the conversation of the turn running now, or None."""
    return _conversation.get()


# -- W3C trace context -----------------------------------------------------------------------


def context_from(traceparent: Any) -> otel_context.Context | None:
    """The context a valid ``traceparent`` value names, or None (absent or malformed)."""
    if not isinstance(traceparent, str) or not traceparent:
        return None
    ctx = _propagator.extract({TRACEPARENT: traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def traceparent(ctx: otel_context.Context | None = None) -> str | None:
    """The ``traceparent`` of the current span (or of ``ctx``), or None outside any turn."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=ctx)
    return carrier.get(TRACEPARENT)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, for log lines; None outside any turn."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


def _detached_root() -> otel_context.Context:
    """A context with fresh ids that records nothing: a turn's ids when tracing is off."""
    span_context = SpanContext(
        trace_id=int.from_bytes(secrets.token_bytes(16), "big") or 1,
        span_id=int.from_bytes(secrets.token_bytes(8), "big") or 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )
    return trace.set_span_in_context(NonRecordingSpan(span_context), otel_context.Context())


def enabled() -> bool:
    return _state["provider"] is not None


@contextlib.contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: otel_context.Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    new_trace: bool = False,
) -> Iterator[trace.Span]:
    """A span around the block, current inside it; child of ``parent`` when given, else of the
    current span. ``new_trace``: a turn's root when no parent is known (with tracing off it
    still gets ids, for the logs). An exception marks the span as failed with its type only."""
    if parent is None and new_trace and not trace.get_current_span().get_span_context().is_valid:
        parent = otel_context.Context() if enabled() else _detached_root()
    provider = _state["provider"]
    tracer = provider.get_tracer(SCOPE) if provider is not None else trace.get_tracer(SCOPE)
    conversation = (attributes or {}).get("kw.conversation")
    mark = _conversation.set(conversation) if isinstance(conversation, str) else None
    with contextlib.ExitStack() as stack:
        if mark is not None:
            stack.callback(_conversation.reset, mark)
        current = stack.enter_context(
            tracer.start_as_current_span(
                name,
                context=parent,
                kind=kind,
                attributes=dict(attributes or {}),
                record_exception=False,
                set_status_on_exception=False,
            )
        )
        try:
            yield current
        except BaseException as exc:
            if current.is_recording():
                current.set_attribute("error.type", type(exc).__name__)
                current.set_status(Status(StatusCode.ERROR))
            raise


@contextlib.contextmanager
def attached(ctx: otel_context.Context | None) -> Iterator[None]:
    """``ctx`` current for the block (nothing changes when None)."""
    if ctx is None:
        yield
        return
    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        otel_context.detach(token)


# -- export ----------------------------------------------------------------------------------


def _hex_id(value: int, width: int) -> str:
    return f"{value:0{width}x}"


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as a plain JSON object (the trace file's line)."""
    ctx = span.context
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name"),
        "trace_id": _hex_id(ctx.trace_id, 32) if ctx else None,
        "span_id": _hex_id(ctx.span_id, 16) if ctx else None,
        "parent_id": _hex_id(span.parent.span_id, 16) if span.parent else None,
        "kind": span.kind.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [e.name for e in span.events],
    }


class Scrubbed(SpanExporter):
    """An exporter that passes each span on with only ``SAFE_ATTRIBUTES``, exception events as
    their type, and no status description (module docstring)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    @staticmethod
    def scrub(span: ReadableSpan) -> ReadableSpan:
        attributes = {k: v for k, v in (span.attributes or {}).items() if k in SAFE_ATTRIBUTES}
        events = [
            Event(
                e.name,
                {k: v for k, v in (e.attributes or {}).items() if k == "exception.type"},
                e.timestamp,
            )
            for e in span.events
        ]
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=events,
            links=span.links,
            kind=span.kind,
            status=Status(span.status.status_code),
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self.scrub(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class FileSpanExporter(SpanExporter):
    """Spans as JSON lines appended to a file (``KW_TRACE_FILE``: tests and local debugging).
    Each span is one ``write`` on a file opened for appending, so several processes can share
    the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = "".join(json.dumps(span_record(s), separators=(",", ":")) + "\n" for s in spans).encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An OTLP ``ExportTraceServiceRequest`` in OTLP's JSON encoding (ids in hex, times as
    strings of nanoseconds, enums as numbers)."""

    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, (list, tuple)):
            return {"arrayValue": {"values": [value(x) for x in v]}}
        return {"stringValue": str(v)}

    def attrs(mapping: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [{"key": k, "value": value(v)} for k, v in (mapping or {}).items()]

    by_resource: dict[int, tuple[Resource, list[ReadableSpan]]] = {}
    for s in spans:
        by_resource.setdefault(id(s.resource), (s.resource, []))[1].append(s)
    resource_spans = []
    for resource, group in by_resource.values():
        out = []
        for s in group:
            ctx = s.context
            if ctx is None:
                continue
            item: dict[str, Any] = {
                "traceId": _hex_id(ctx.trace_id, 32),
                "spanId": _hex_id(ctx.span_id, 16),
                "name": s.name,
                # OTLP's SpanKind counts from 1 (INTERNAL); the API's from 0.
                "kind": s.kind.value + 1,
                "startTimeUnixNano": str(s.start_time or 0),
                "endTimeUnixNano": str(s.end_time or 0),
                "attributes": attrs(s.attributes),
                "events": [
                    {"timeUnixNano": str(e.timestamp), "name": e.name, "attributes": attrs(e.attributes)}
                    for e in s.events
                ],
                "status": {"code": {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}[s.status.status_code]},
            }
            if s.parent is not None:
                item["parentSpanId"] = _hex_id(s.parent.span_id, 16)
            out.append(item)
        resource_spans.append(
            {
                "resource": {"attributes": attrs(resource.attributes)},
                "scopeSpans": [{"scope": {"name": SCOPE}, "spans": out}],
            }
        )
    return {"resourceSpans": resource_spans}


class OtlpJsonExporter(SpanExporter):
    """OTLP/HTTP with JSON bodies to ``<endpoint>/v1/traces`` (an OpenTelemetry Collector's or
    Jaeger's OTLP HTTP receiver, port 4318), with the standard library only."""

    def __init__(self, endpoint: str, timeout_s: float = EXPORT_TIMEOUT_S) -> None:
        self.url = traces_url(endpoint)
        self.timeout_s = timeout_s

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        body = json.dumps(otlp_json(spans), separators=(",", ":")).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                ok = 200 <= response.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            ok = False
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        return None


def traces_url(endpoint: str) -> str:
    """``KW_OTLP_ENDPOINT`` is the collector's OTLP/HTTP base URL (``http://host:4318``);
    a URL that already ends in ``/v1/traces`` is taken as it is."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def setup(
    service: str,
    *,
    endpoint: str = "",
    trace_file: str = "",
    environment: str = "",
    otlp_exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Turn tracing on for this process when an endpoint or a file is given; None otherwise.
    ``otlp_exporter``: the exporter for ``endpoint`` (our runtime passes the official one);
    by default ``OtlpJsonExporter``. Spans to the file are written as each ends; to the
    endpoint in batches."""
    if not endpoint and not trace_file:
        return None
    resource = {"service.name": service}
    if environment:
        resource["deployment.environment.name"] = environment
    provider = TracerProvider(resource=Resource.create(resource))
    if trace_file:
        provider.add_span_processor(SimpleSpanProcessor(Scrubbed(FileSpanExporter(trace_file))))
    if endpoint:
        exporter = otlp_exporter if otlp_exporter is not None else OtlpJsonExporter(endpoint)
        provider.add_span_processor(BatchSpanProcessor(Scrubbed(exporter)))
    trace.set_tracer_provider(provider)
    _state["provider"] = provider
    return provider


def setup_from_env(service: str, env: Mapping[str, str] | None = None) -> TracerProvider | None:
    """``setup`` from ``KW_OTLP_ENDPOINT`` and ``KW_TRACE_FILE`` (the Rasa process: the
    launcher passes what bot/settings.py read)."""
    env = os.environ if env is None else env
    return setup(
        service,
        endpoint=env.get(ENDPOINT_ENV, "").strip(),
        trace_file=env.get(FILE_ENV, "").strip(),
        environment=env.get("KW_ENV", ""),
    )


def shutdown() -> None:
    """Export what is still queued (at a process's orderly end)."""
    provider = _state["provider"]
    if provider is not None:
        provider.shutdown()
