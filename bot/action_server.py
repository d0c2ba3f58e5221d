"""The action server (rasa-sdk) as one process: ``python -m bot.action_server --port P``.

rasa-sdk's own ``python -m rasa_sdk`` serves through Sanic's worker manager: a manager process
and a worker process. When the manager crashed (kill -9) the worker went on serving on the port,
out of the supervisor's sight, and the pair cost two interpreters' memory. Here the same app
(rasa-sdk's ``create_app_for_serve``, with its listeners and plugins) runs in a single process.

rasa-sdk has no authentication of its own; ``require_token`` refuses every call but ``/health``
without the token Rasa sends (derived from Rasa's, rasa_runtime/endpoints.py), so a local
process cannot run our actions (a status lookup, a ticket) by posting to this port.

``/metrics`` (Prometheus text, bot/core/metrics.py: actions by name, database calls, status
lookups) answers with ``KW_OPS_TOKEN`` (as the gateway's /metrics does: Prometheus needs no token
that can run actions), or without a token to a client on loopback whose request no proxy
forwarded, so a Prometheus on the same machine can scrape it.

Each action call continues its turn's trace (``continue_trace``, ``action_span``; rasa-sdk's own
spans under our provider when tracing is on) and logs one ``action`` line with the turn's trace
id and the conversation's pseudonym (docs/operations.md, "Tracing" and "Logs").
"""

from __future__ import annotations

import argparse
import contextvars
import hmac
import ipaddress
import logging
import os
import time
from typing import Any

from rasa_runtime import otel
from rasa_runtime.endpoints import ACTION_TOKEN_HEADER, action_token

#: This process's name in log lines (its spans': kw-actions, bot/core/tracing.py).
SERVICE = "actions"
#: What answers without the token: the readiness probes.
OPEN_PATHS = ("/health",)
#: Answers without the token from loopback only (not forwarded by a proxy).
METRICS_PATH = "/metrics"


def _from_loopback(request) -> bool:
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.conn_info.client_ip if request.conn_info else "").is_loopback
    except ValueError:
        return False


def require_token(app, token: str, ops_token: str = "") -> None:
    """A request middleware: 401 without ``Authorization: Bearer <token>``; ``/metrics`` also
    takes ``ops_token``."""
    from sanic import response

    expected = f"Bearer {token}".encode()
    ops_expected = f"Bearer {ops_token}".encode()

    @app.on_request
    async def check(request):
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(ACTION_TOKEN_HEADER, "").encode("utf-8", "replace")
        if token and hmac.compare_digest(given, expected):
            return None
        if request.path == METRICS_PATH and (
            (ops_token and hmac.compare_digest(given, ops_expected)) or _from_loopback(request)
        ):
            return None
        return response.json({"error": "token required"}, status=401)


def add_metrics(app) -> None:
    """``GET /metrics``: the process's registry (bot/core/metrics.py) in Prometheus' format."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from sanic import response

    from bot.core.metrics import REGISTRY

    @app.get(METRICS_PATH)
    async def metrics(_request):
        return response.raw(
            generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
        )


#: The trace context of the /webhook call being handled (``continue_trace``), for the action's
#: span when no span is current (tracing off: the turn's ids still reach the log lines).
_parent: contextvars.ContextVar[Any] = contextvars.ContextVar("kw_action_parent", default=None)


def metadata_traceparent(body: Any) -> str | None:
    """The ``traceparent`` in an action call's tracker's latest message metadata (the gateway's
    turn span), or None."""
    if not isinstance(body, dict):
        return None
    tracker = body.get("tracker")
    latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
    metadata = latest.get("metadata") if isinstance(latest, dict) else None
    value = metadata.get(otel.TRACEPARENT) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None


def continue_trace(app) -> None:
    """Each action call continues its turn's trace (docs/operations.md, "Tracing"): from the
    ``traceparent`` header the Rasa process sends (its ``rasa.action`` span is the parent), or
    without one from the tracker's latest message metadata (the gateway's span). rasa-sdk's own
    webhook span reads the header, so the metadata's value is put there when the header is
    missing; with tracing on, rasa-sdk's spans use our provider."""
    from opentelemetry import trace

    @app.listener("before_server_start")
    async def provider(app, _loop=None):
        if otel.enabled():
            app.ctx.tracer_provider = trace.get_tracer_provider()

    @app.on_request
    async def parent(request):
        if request.path != "/webhook":
            return None
        value = request.headers.get(otel.TRACEPARENT)
        if otel.context_from(value) is None:
            try:
                value = metadata_traceparent(request.json)
            except Exception:  # an unreadable body: rasa-sdk answers it
                value = None
            if value:
                request.headers[otel.TRACEPARENT] = value
        _parent.set(otel.context_from(value))
        return None


def action_span(action_call: dict[str, Any], label: str):
    """The span of one action: the child of the current span (rasa-sdk's webhook span), or
    with none of the call's trace context (``continue_trace``)."""
    from opentelemetry import trace

    tracker = action_call.get("tracker")
    sender = action_call.get("sender_id") or (tracker.get("sender_id") if isinstance(tracker, dict) else None)
    attributes = {"kw.action": label}
    if isinstance(sender, str):
        attributes["kw.conversation"] = otel.pseudonym(sender)
    current = trace.get_current_span().get_span_context().is_valid
    return otel.span("action", attributes, parent=None if current else _parent.get(), new_trace=True)


def measured_executor():
    """rasa-sdk's executor, timing every action call (forms' validation actions too) by its
    registered name; a name it does not know counts as ``unknown`` (the label set stays fixed)."""
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection

    from bot.core.logs import log_event
    from bot.core.metrics import ACTION_DURATION, ACTION_ERRORS, UNKNOWN_ACTION

    log = logging.getLogger("bot.action_server")

    class MeasuredExecutor(ActionExecutor):
        async def run(self, action_call: dict[str, Any], *args: Any, **kwargs: Any):
            name = action_call.get("next_action")
            label = name if isinstance(name, str) and name in self.actions else UNKNOWN_ACTION
            started = time.monotonic()
            with action_span(action_call, label):
                try:
                    return await super().run(action_call, *args, **kwargs)
                except ActionExecutionRejection:
                    raise  # a form declining a value: Rasa goes on with another policy, no failure
                except Exception:
                    ACTION_ERRORS.labels(action=label).inc()
                    raise
                finally:
                    took = time.monotonic() - started
                    ACTION_DURATION.labels(action=label).observe(took)
                    # One line per action call, inside the turn: its trace id and conversation.
                    log_event(log, "action", action=label, ms=int(took * 1000))

        def register_package(self, package: Any) -> None:
            super().register_package(package)
            for action in self.actions:  # every action's series exists from the start, at 0
                ACTION_ERRORS.labels(action=action)

    return MeasuredExecutor()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions", help="the package with the actions")
    args = parser.parse_args(argv)
    os.umask(0o077)  # what the actions write (SQLite files) is this user's alone

    from bot.core import logs, tracing
    from bot.settings import get_settings

    settings = get_settings()
    logs.configure(SERVICE, settings.log_format, settings.log_level)  # before rasa-sdk's imports
    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_app_for_serve

    utils.update_sanic_log_level()
    traced = tracing.setup(settings, "actions")
    if traced:
        # rasa-sdk's own spans (the executor, validation actions) under our provider.
        from opentelemetry import trace
        from rasa_sdk.tracing.config import configure_tracing

        configure_tracing(trace.get_tracer_provider())  # type: ignore[arg-type]
    executor = measured_executor()
    executor.register_package(args.actions)
    # Only Rasa calls this server: no browser origin needs CORS. No endpoints file: rasa-sdk
    # reads only tracing settings from it; ours come from bot/settings.py (continue_trace).
    app = create_app_for_serve(executor, cors_origins=None, endpoints="")
    continue_trace(app)
    require_token(app, action_token(settings.rasa_token), settings.ops_token)
    add_metrics(app)
    logs.configure(SERVICE, settings.log_format, settings.log_level)  # over what Sanic set up
    app.run(
        host=os.environ.get("SANIC_HOST", "127.0.0.1"),
        port=args.port,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
