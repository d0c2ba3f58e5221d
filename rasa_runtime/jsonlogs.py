"""One log format for every process of the stack: JSON lines (or readable text) with the same
fields, shared by both runtimes.

Imported by the Rasa process as ``jsonlogs`` (serve.py) and by our runtime as
``rasa_runtime.jsonlogs`` (bot/core/logs.py: the gateway, the action server, the launcher).
Standard library and opentelemetry-api only.

Every line has ``ts`` (UTC, milliseconds), ``level``, ``service`` (gateway, actions, rasa,
launcher), ``logger`` and ``event``; inside a user turn also ``trace_id`` (the turn's trace,
the same in every process, tracing on or off: otel.py) and ``conversation`` (the pseudonymous
conversation id, ``otel.pseudonym``). A message that is a JSON object (``log_event`` in
bot/core/logs.py) adds its fields; any other message is ``event: "log"`` with the text in
``msg``. An exception is its type and where it happened, never its text (it may quote the user).
Rasa's structlog lines (JSON) keep only their event name: their other fields may hold message
text. Lines a process writes outside logging (``print``, a traceback) are wrapped as
``event: "output"`` (``LineWrapper``), so a log file is JSON line by line.

``KW_LOG_FORMAT`` (bot/settings.py) chooses ``json`` or ``text``; ``text`` puts the same fields
on one readable line.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

if __package__:  # our runtime: rasa_runtime.jsonlogs
    from rasa_runtime import otel
else:  # the Rasa process: serve.py's directory is first on the path
    import otel  # type: ignore[no-redef]

FORMATS = ("json", "text")
#: Loggers whose JSON messages are Rasa's structlog events (their fields may hold user text).
STRUCTLOG_FIELDS_KEPT = ("event",)


def timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created * 1000) % 1000:03d}Z"


class Formatter(logging.Formatter):
    """A record as the common fields plus its own (module docstring); ``text`` for the
    readable form."""

    def __init__(self, service: str, text: bool = False, structlog_json: bool = False) -> None:
        super().__init__()
        self.service = service
        self.text = text
        #: Whether JSON messages come from structlog (the Rasa process): keep their event only.
        self.structlog_json = structlog_json

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        message = record.getMessage()
        payload: dict[str, Any] | None = None
        if message.startswith("{"):
            try:
                parsed = json.loads(message)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                payload = parsed
                if self.structlog_json and "log_level" in payload:
                    payload = {k: payload[k] for k in STRUCTLOG_FIELDS_KEPT if k in payload}
        out: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
        }
        if payload is None:
            out["event"] = "log"
            out["msg"] = message
        else:
            out.update(payload)
            out.setdefault("event", "log")
        ids = otel.current_ids()
        if ids is not None:
            out.setdefault("trace_id", ids[0])
        conversation = otel.current_conversation()
        if conversation:
            out.setdefault("conversation", conversation)
        if record.exc_info:
            exc_type, _, tb = record.exc_info
            out["exc"] = getattr(exc_type, "__name__", "Exception")
            out["at"] = [f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_tb(tb)][-5:]
        return out

    def format(self, record: logging.LogRecord) -> str:
        out = self.fields(record)
        if not self.text:
            return json.dumps(out, ensure_ascii=False, separators=(",", ":"), default=str)
        head = f"{out.pop('ts')} {out.pop('level').upper():<7} {out.pop('service')} {out.pop('event')}"
        out.pop("logger", None)
        msg = out.pop("msg", None)
        rest = " ".join(f"{k}={v}" for k, v in out.items())
        return " ".join(part for part in (head, msg, rest) if part)


class LineWrapper(io.TextIOBase):
    """A text stream for ``sys.stdout``/``sys.stderr`` that passes JSON lines through and
    wraps every other line as ``{"event": "output", "msg": …}`` with the common fields."""

    def __init__(self, target: TextIO, service: str, level: str) -> None:
        self.target = target
        self.service = service
        self.level = level
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._emit(line)
        return len(text)

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        if not line.lstrip().startswith("{"):
            record: dict[str, Any] = {
                "ts": timestamp(time.time()),
                "level": self.level,
                "service": self.service,
                "logger": "output",
                "event": "output",
                "msg": line.rstrip(),
            }
            ids = otel.current_ids()
            if ids is not None:
                record["trace_id"] = ids[0]
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        self.target.write(line + "\n")
        self.target.flush()

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._emit(line)
        self.target.flush()

    def fileno(self) -> int:
        return self.target.fileno()

    def isatty(self) -> bool:
        return False


def format_from_env(env: Mapping[str, str] | None = None) -> str:
    """``KW_LOG_FORMAT`` as bot/settings.py defaults it (json with ``KW_ENV=production``, else
    text), for the Rasa process, which the launcher or a container's environment configures."""
    env = os.environ if env is None else env
    chosen = (env.get("KW_LOG_FORMAT") or "").strip().lower()
    if chosen in FORMATS:
        return chosen
    return "json" if env.get("KW_ENV") == "production" else "text"


def install(service: str, fmt: str = "json", level: str = "INFO", structlog_json: bool = False) -> logging.Handler:
    """Every log record of this process through one handler on stderr in ``fmt``; every
    other logger's own handlers removed (their records reach the root). In ``json`` also
    ``print`` and tracebacks are wrapped (``LineWrapper``). Idempotent: a library that set up
    handlers of its own since is taken over again by a second call."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "json":
        if not isinstance(sys.stdout, LineWrapper):
            sys.stdout = LineWrapper(sys.stdout, service, "info")
        if not isinstance(sys.stderr, LineWrapper):
            sys.stderr = LineWrapper(sys.stderr, service, "error")
    stream = sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(Formatter(service, text=fmt == "text", structlog_json=structlog_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a line of logger py.warnings
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            logger.handlers[:] = []
            logger.propagate = True
    return handler
