"""Structured logs: one JSON object per line (or readable text, ``KW_LOG_FORMAT``), without
message contents or personal data; the fields every process has (rasa_runtime/jsonlogs.py).

The access log records method, path (never the query string: it may hold tokens), status,
size, duration and a pseudonymous client id instead of the IP address.
"""

from __future__ import annotations

import json
import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from bot.core import logs as core_logs
from bot.web.sessions import client_id
from rasa_runtime import jsonlogs

#: The gateway's name in log lines.
SERVICE = "gateway"


class JsonAccessLogger(AbstractAccessLogger):
    secret: str = ""  # set by __main__ from settings.cookie_secret

    def log(self, request: BaseRequest, response: StreamResponse, time_taken: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        record = {
            "event": "access",
            "method": request.method,
            "path": request.path[:200],
            "status": response.status,
            "bytes": response.body_length,
            "ms": int(time_taken * 1000),
            "client": client_id(self.secret, request.remote or "")[:12],
        }
        if request.path.startswith("/chat/ws"):
            record["websocket"] = True
        self.logger.info(json.dumps(record, separators=(",", ":")))


class JsonFormatter(jsonlogs.Formatter):
    """The gateway's lines: the common fields of every process (rasa_runtime/jsonlogs.py)."""

    def __init__(self) -> None:
        super().__init__(SERVICE)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    core_logs.configure(SERVICE, fmt, level)
    logging.getLogger("aiohttp.access").setLevel(logging.INFO)
