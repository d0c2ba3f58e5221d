"""Structured logs: one JSON object per line, without message contents or personal data.

The access log records method, path (never the query string: it may hold tokens), status,
size, duration and a pseudonymous client id instead of the IP address.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from bot.web.sessions import client_id


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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            payload = json.loads(message) if message.startswith("{") else {"msg": message}
        except ValueError:
            payload = {"msg": message}
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        out.update(payload)
        if record.exc_info:
            # The type and where it happened; never the exception text (it may quote user input).
            exc_type, _, tb = record.exc_info
            out["exc"] = getattr(exc_type, "__name__", "Exception")
            out["at"] = [f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_tb(tb)][-5:]
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.INFO)
