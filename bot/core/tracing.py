"""Tracing in our runtime's processes (the gateway, the action server): rasa_runtime/otel.py
turned on from the settings, and the database calls as spans.

``setup`` exports to ``KW_OTLP_ENDPOINT`` with the official OTLP/HTTP exporter (protobuf) and/or
to ``KW_TRACE_FILE``; without either, tracing is off and a turn's ids only travel for the logs.
Database spans: ``db.call`` around each call through bot/core/runner.py (the pool thread runs in
the caller's context, so the span is the turn's child), and one ``db <KIND>`` span per statement
(``instrument_engine``: SELECT, INSERT, …) with the database system and the statement's kind
only, never the statement's text or its parameters. Only inside a turn's trace: work outside a
turn (start-up, purges, the console's polls) makes no traces of its own.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.settings import Settings
from rasa_runtime import otel

#: Spans' service names per process.
SERVICES = {"gateway": "kw-gateway", "actions": "kw-actions"}
#: The first words of SQL statements a span names; anything else is OTHER.
STATEMENT_KINDS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "WITH", "CREATE", "ALTER", "DROP"}
)
_SPAN_KEY = "kw_span"


def setup(settings: Settings, process: str) -> bool:
    """Tracing on for this process when the settings ask for it; whether it is."""
    exporter = otlp_exporter(settings.otlp_endpoint) if settings.otlp_endpoint else None
    provider = otel.setup(
        SERVICES.get(process, f"kw-{process}"),
        endpoint=settings.otlp_endpoint,
        trace_file=settings.trace_file,
        environment=settings.env,
        otlp_exporter=exporter,
    )
    return provider is not None


def otlp_exporter(endpoint: str) -> SpanExporter:
    """The official OTLP/HTTP exporter (protobuf) to ``<endpoint>/v1/traces``."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=otel.traces_url(endpoint), timeout=otel.EXPORT_TIMEOUT_S)


def statement_kind(statement: str) -> str:
    """``SELECT``, ``INSERT``, … : the statement's first word when it is a known kind."""
    word = statement.lstrip(" \t\r\n(").split(None, 1)[0].upper() if statement.strip() else ""
    return word if word in STATEMENT_KINDS else "OTHER"


def instrument_engine(engine: Engine) -> None:
    """A span per statement on ``engine`` while tracing is on (the kind only: module docstring)."""
    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if not otel.enabled() or context is None or otel.current_ids() is None:
            return  # tracing off, or outside a turn (start-up, purges): no trace of its own
        kind = statement_kind(statement)
        scope = otel.span(f"db {kind}", {"db.system.name": system, "db.operation.name": kind})
        scope.__enter__()
        setattr(context, _SPAN_KEY, scope)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        scope = getattr(context, _SPAN_KEY, None) if context is not None else None
        if scope is not None:
            setattr(context, _SPAN_KEY, None)
            scope.__exit__(None, None, None)

    @event.listens_for(engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        scope = getattr(context, _SPAN_KEY, None) if context is not None else None
        if scope is not None:
            setattr(context, _SPAN_KEY, None)
            error = exception_context.original_exception
            scope.__exit__(type(error), error, error.__traceback__)
