"""One way to log an event: a JSON object on one line, named by ``event``, with a few fields.

Never message text or personal data in ``fields``: ids are pseudonyms, failures their
exception class. The gateway's formatter (bot/web/logs.py) merges the object into its line.
"""

from __future__ import annotations

import json
import logging
from typing import Any


def log_event(logger: logging.Logger, event: str, /, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``{"event": event, **fields}`` on ``logger`` at ``level`` (INFO by default)."""
    if logger.isEnabledFor(level):
        logger.log(level, json.dumps({"event": event, **fields}, separators=(",", ":"), sort_keys=True))
