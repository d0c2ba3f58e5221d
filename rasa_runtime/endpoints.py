"""Rasa's endpoints.yml from our settings' URLs, written by both runtimes: the launcher
(bot/launcher.py, app runtime) and a Rasa container's entrypoint (deploy/rasa/entrypoint.py,
Rasa runtime). Standard library and PyYAML only, which both runtimes have."""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Dict, Optional
from urllib.parse import urlparse


def sql_store(url: str) -> Dict[str, object]:
    """Rasa's SQL tracker store for a SQLAlchemy URL (sqlite:///path or postgresql://…)."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("sqlite"):
        return {"type": "SQL", "dialect": "sqlite", "db": url.split(":///", 1)[1]}
    store: Dict[str, object] = {"type": "SQL", "dialect": parsed.scheme.split("+")[0],
                                "url": parsed.hostname, "db": parsed.path.lstrip("/")}
    if parsed.port:
        store["port"] = parsed.port
    if parsed.username:
        store["username"] = parsed.username
    if parsed.password:
        store["password"] = parsed.password
    return store


def lock_store(url: str) -> Dict[str, object]:
    """Rasa's Redis lock store for redis://host:port/db."""
    parsed = urlparse(url)
    return {"type": "redis", "url": parsed.hostname, "port": parsed.port or 6379,
            "db": int((parsed.path or "/0").lstrip("/") or 0)}


#: Where Rasa's process finds the action server's token (set by serve.py, read by Rasa when it
#: loads endpoints.yml): the file never holds it.
ACTION_TOKEN_ENV = "KW_ACTION_TOKEN"
#: The header the action server checks (bot/action_server.py).
ACTION_TOKEN_HEADER = "Authorization"


def action_token(rasa_token: str) -> str:
    """The action server's token, derived from Rasa's: both processes have Rasa's token, so
    no further secret needs distributing, and the derived one says nothing about Rasa's."""
    return hmac.new(rasa_token.encode("utf-8"), b"kw-action-server-v1", hashlib.sha256).hexdigest()


def endpoints(actions_url: str, tracker_store_url: str, lock_store_url: Optional[str]) -> Dict[str, object]:
    action_endpoint = {"url": actions_url,
                       "headers": {ACTION_TOKEN_HEADER: f"Bearer ${{{ACTION_TOKEN_ENV}}}"}}
    result: Dict[str, object] = {"action_endpoint": action_endpoint,
                                 "tracker_store": sql_store(tracker_store_url)}
    if lock_store_url:
        result["lock_store"] = lock_store(lock_store_url)
    return result


def write(var_dir: Path, data: Dict[str, object]) -> Path:
    """``var_dir/endpoints.yml``, readable by its owner only from the first byte on: it may
    hold a database password."""
    import yaml

    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "endpoints.yml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(data, sort_keys=False))
    os.chmod(path, 0o600)  # an older file keeps its mode through O_TRUNC
    return path
