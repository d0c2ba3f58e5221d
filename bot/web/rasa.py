"""The gateway's client for Rasa: the REST channel for messages, the HTTP API for trackers.

Rasa listens on 127.0.0.1 only; its HTTP API token goes in the query string, so URLs built here
are never logged.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

import aiohttp
from yarl import URL

log = logging.getLogger("bot.web.rasa")

# Seconds to wait for Rasa to answer one message (the action server may call slow back ends).
RASA_TIMEOUT_S = 30.0
# Seconds for tracker and status look-ups.
RASA_LOOKUP_TIMEOUT_S = 10.0


class RasaUnavailable(Exception):
    """Rasa did not answer (down, timeout, or an error status)."""


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str,
                 actions_health_url: Optional[str] = None):
        self._http = session
        self._base = URL(base_url)
        self._token = token
        self._actions_health = actions_health_url

    async def send(self, sender: str, text: str, metadata: Dict[str, Any]) -> List[Dict[str, Any]]:
        url = self._base / "webhooks" / "rest" / "webhook"
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self._http.post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=RASA_TIMEOUT_S)
            ) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"webhook status {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from None
        if not isinstance(data, list):
            raise RasaUnavailable("webhook answer is not a list")
        return [m for m in data if isinstance(m, dict)]

    async def tracker(self, sender: str) -> Dict[str, Any]:
        url = (self._base / "conversations" / sender / "tracker").with_query(token=self._token)
        try:
            async with self._http.get(
                url, timeout=aiohttp.ClientTimeout(total=RASA_LOOKUP_TIMEOUT_S)
            ) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"tracker status {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from None
        if not isinstance(data, dict):
            raise RasaUnavailable("tracker is not an object")
        return data

    async def ready(self) -> Dict[str, bool]:
        """Readiness of Rasa (model loaded) and, when known, the action server."""
        checks = {"rasa": False}
        url = (self._base / "status").with_query(token=self._token)
        try:
            async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as resp:
                if resp.status == 200:
                    data = await resp.json(content_type=None)
                    checks["rasa"] = bool(isinstance(data, dict) and (data.get("model_id") or data.get("model_file")))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            pass
        if self._actions_health:
            checks["actions"] = False
            try:
                async with self._http.get(self._actions_health, timeout=aiohttp.ClientTimeout(total=3)) as resp:
                    checks["actions"] = resp.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
        return checks
