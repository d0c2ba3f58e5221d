"""The Rasa process's part of a turn's trace (otel.py): spans around Rasa's own steps, and the
trace context handed on to the action server.

Installed by ``serve.py`` in each worker (after the fork: an exporter's thread does not survive
one), and only when ``KW_OTLP_ENDPOINT`` or ``KW_TRACE_FILE`` is set; without them Rasa runs
unchanged, and the REST channel (channels.py) still takes the turn's ids from the message
metadata for the log lines.

Spans, all children of the channel's ``rasa.message`` (channels.py), itself the child of the
gateway's span named by the message metadata's ``traceparent``:
- ``rasa.parse``: NLU on the message (``MessageProcessor.parse_message``);
- ``rasa.action``: each action the turn runs (``MessageProcessor._run_action``), with its name;
  a call to the action server (``EndpointConfig.request``) carries the ``traceparent`` header of
  the span it is made in, so the action server's spans are its children;
- ``tracker_store.retrieve`` / ``tracker_store.save``: the tracker store (stores.py).

Rasa's names wrapped here (rasa_runtime/versions.py refuses any other Rasa):
``MessageProcessor.parse_message``, ``MessageProcessor._run_action``, ``EndpointConfig.request``.
"""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry.trace import SpanKind

import otel

#: The service name of the Rasa process's spans.
SERVICE = "kw-rasa"


def install() -> bool:
    """Turn tracing on from the environment and wrap Rasa's steps; False when it is off."""
    if otel.setup_from_env(SERVICE) is None:
        return False
    install_spans()
    return True


def install_spans() -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.utils.endpoints import EndpointConfig

    import stores

    parse = MessageProcessor.parse_message
    run_action = MessageProcessor._run_action
    request = EndpointConfig.request
    retrieve = stores.CachingSQLTrackerStore._retrieve
    save = stores.CachingSQLTrackerStore.save

    @functools.wraps(parse)
    async def parse_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        with otel.span("rasa.parse"):
            return await parse(self, *args, **kwargs)

    @functools.wraps(run_action)
    async def _run_action(self: Any, action: Any, *args: Any, **kwargs: Any) -> Any:
        with otel.span("rasa.action", {"kw.action": str(action.name())}):
            return await run_action(self, action, *args, **kwargs)

    @functools.wraps(request)
    async def traced_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        if otel.current_ids() is None:  # outside a turn: nothing to continue
            return await request(self, *args, **kwargs)
        with otel.span(
            "rasa.http", {"http.request.method": str(kwargs.get("method", "post")).upper()}, kind=SpanKind.CLIENT
        ):
            value = otel.traceparent()
            if value:
                kwargs["headers"] = {**(kwargs.get("headers") or {}), otel.TRACEPARENT: value}
            return await request(self, *args, **kwargs)

    @functools.wraps(retrieve)
    async def traced_retrieve(self: Any, sender_id: str, *args: Any, **kwargs: Any) -> Any:
        with otel.span("tracker_store.retrieve", {"kw.store": self.engine.dialect.name}) as span:
            tracker = await retrieve(self, sender_id, *args, **kwargs)
            span.set_attribute("kw.found", tracker is not None)
            return tracker

    @functools.wraps(save)
    async def traced_save(self: Any, tracker: Any) -> None:
        with otel.span("tracker_store.save", {"kw.store": self.engine.dialect.name}):
            await save(self, tracker)

    MessageProcessor.parse_message = parse_message
    MessageProcessor._run_action = _run_action
    EndpointConfig.request = traced_request
    stores.CachingSQLTrackerStore._retrieve = traced_retrieve
    stores.CachingSQLTrackerStore.save = traced_save
