"""One way to log an event: a JSON object on one line, named by ``event``, with a few fields;
and one log format for every process of ours (``configure``).

Never message text or personal data in ``fields``: ids are pseudonyms, failures their
exception class. The formatter (rasa_runtime/jsonlogs.py, shared with the Rasa process) merges
the object into its line with the common fields: time, level, service, and inside a turn its
trace id and pseudonymous conversation id (docs/operations.md, "Logs").
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_runtime import jsonlogs


def log_event(logger: logging.Logger, event: str, /, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``{"event": event, **fields}`` on ``logger`` at ``level`` (INFO by default)."""
    if logger.isEnabledFor(level):
        logger.log(level, json.dumps({"event": event, **fields}, separators=(",", ":"), sort_keys=True))


def configure(service: str, fmt: str = "text", level: str = "INFO") -> None:
    """This process's logs in ``fmt`` ("json" or "text", ``KW_LOG_FORMAT``) on stderr, with
    ``service`` (gateway, actions, launcher) in every line."""
    jsonlogs.install(service, fmt, level)
