"""Rasa's endpoints.yml from our settings' URLs, written by both runtimes: the launcher
(bot/launcher.py, app runtime) and a Rasa container's entrypoint (deploy/rasa/entrypoint.py,
Rasa runtime). Standard library and PyYAML only, which both runtimes have.

The stores are our classes (rasa_runtime/stores.py), named by module path as Rasa allows; Rasa
imports them as ``stores`` because ``serve.py``'s directory is first on its path. Rasa falls
back to an in-memory tracker store, with no more than a warning, when it cannot import a named
class: a test builds the stores from this file in the Rasa runtime."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from urllib.parse import urlparse

#: The classes Rasa builds the stores from (rasa_runtime/stores.py).
TRACKER_STORE = "stores.CachingSQLTrackerStore"
REDIS_LOCK_STORE = "stores.RedisLockStore"
IN_MEMORY_LOCK_STORE = "stores.InMemoryLockStore"


def sql_store(url: str) -> dict[str, object]:
    """Our SQL tracker store for a SQLAlchemy URL (sqlite:///path or postgresql://…)."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("sqlite"):
        return {"type": TRACKER_STORE, "dialect": "sqlite", "db": url.split(":///", 1)[1]}
    store: dict[str, object] = {
        "type": TRACKER_STORE,
        "dialect": parsed.scheme.split("+")[0],
        "url": parsed.hostname,
        "db": parsed.path.lstrip("/"),
    }
    if parsed.port:
        store["port"] = parsed.port
    if parsed.username:
        store["username"] = parsed.username
    if parsed.password:
        store["password"] = parsed.password
    return store


def lock_store(url: str | None) -> dict[str, object]:
    """Our Redis lock store for redis://host:port/db, or the in-memory one without a URL."""
    if not url:
        return {"type": IN_MEMORY_LOCK_STORE}
    parsed = urlparse(url)
    return {
        "type": REDIS_LOCK_STORE,
        "url": parsed.hostname,
        "port": parsed.port or 6379,
        "db": int((parsed.path or "/0").lstrip("/") or 0),
    }


#: Where Rasa's process finds the action server's token (set by serve.py, read by Rasa when it
#: loads endpoints.yml): the file never holds it.
ACTION_TOKEN_ENV = "KW_ACTION_TOKEN"
#: The header the action server checks (bot/action_server.py).
ACTION_TOKEN_HEADER = "Authorization"


def action_token(rasa_token: str) -> str:
    """The action server's token, derived from Rasa's: both processes have Rasa's token, so
    no further secret needs distributing, and the derived one says nothing about Rasa's."""
    return hmac.new(rasa_token.encode("utf-8"), b"kw-action-server-v1", hashlib.sha256).hexdigest()


def endpoints(
    actions_url: str,
    tracker_store_url: str,
    lock_store_url: str | None,
    tracker_cache: dict[str, object] | None = None,
) -> dict[str, object]:
    """``tracker_cache``: the bounds of the tracker store's cache (``cache_max_bytes``,
    ``cache_idle_s``; rasa_runtime/stores.py), passed to its constructor as Rasa passes every
    key of the store's section."""
    action_endpoint = {"url": actions_url, "headers": {ACTION_TOKEN_HEADER: f"Bearer ${{{ACTION_TOKEN_ENV}}}"}}
    return {
        "action_endpoint": action_endpoint,
        "tracker_store": {**sql_store(tracker_store_url), **(tracker_cache or {})},
        "lock_store": lock_store(lock_store_url),
    }


def write(var_dir: Path, data: dict[str, object]) -> Path:
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
