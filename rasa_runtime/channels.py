"""Rasa's REST channel behind a token (credentials.yml names ``channels.TokenRestInput``).

Rasa 3.6's ``--auth-token`` protects only its HTTP API, not the channels: any local process
could post to ``/webhooks/rest/webhook`` as any conversation. This channel is Rasa's own
``RestInput`` (same URL, same body and answer) that first requires Rasa's token, as
``Authorization: Bearer <token>`` (what the gateway sends: no token in a URL that might be
logged) or ``?token=<token>`` (as for Rasa's HTTP API; tools such as eval/ask.py use it).

``serve.py`` hands the token over (``TOKEN``) before Rasa loads its channels; without one every
request is refused. Imported by Rasa as ``channels`` (serve.py's directory is first on its path),
the same module object serve.py set the token on.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.trace import SpanKind
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

import otel
import stores

#: Rasa's token, set by serve.py; empty refuses everything.
TOKEN = ""
#: The tracker cache's figures on every answer: "<entries> <bytes>" (bot/web/metrics.py reads it).
CACHE_HEADER = "X-KW-Tracker-Cache"
#: Called when Rasa builds the channel, after Sanic set up its logging (serve.py: our log
#: format takes over again).
ON_BLUEPRINT: Callable[[], None] | None = None


def token_matches(request: Request, expected: str) -> bool:
    if not expected:
        return False
    given: str | None = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        given = header[len("Bearer ") :].strip()
    if not given:
        given = request.args.get("token")
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def traced(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    """Rasa's handling of one message inside the span ``rasa.message``, the child of the
    gateway's turn span named by the metadata's ``traceparent`` (otel.py); with tracing off the
    turn's ids are still current, for the log lines (jsonlogs.py)."""

    async def handle(message: UserMessage) -> Any:
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        with otel.span(
            "rasa.message",
            {"kw.conversation": otel.pseudonym(str(message.sender_id))},
            parent=otel.context_from(metadata.get(otel.TRACEPARENT)),
            kind=SpanKind.SERVER,
            new_trace=True,
        ):
            return await on_new_message(message)

    return handle


class TokenRestInput(RestInput):
    """``RestInput`` (channel name ``rest``) that refuses requests without Rasa's token."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if ON_BLUEPRINT is not None:
            ON_BLUEPRINT()
        webhook = super().blueprint(traced(on_new_message))

        @webhook.middleware("request")
        async def require_token(request: Request):
            if not token_matches(request, TOKEN):
                return response.json({"status": "failure", "reason": "token required"}, status=401)
            return None

        @webhook.middleware("response")
        async def tracker_cache_figures(request: Request, answer: Any) -> None:
            # The gateway's /metrics shows each worker's tracker cache from this header
            # (bot/web/metrics.py): a Rasa worker has no metrics endpoint of its own.
            figures = stores.cache_figures()
            if figures is not None and answer is not None and answer.status == 200:
                answer.headers[CACHE_HEADER] = f"{figures[0]} {figures[1]}"

        return webhook
