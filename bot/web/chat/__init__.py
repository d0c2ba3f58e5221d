"""The chat: one service (service.py) behind two transports, the WebSocket (ws.py) and its plain
HTTP fallback (http.py)."""
from __future__ import annotations

from bot.web.chat.http import chat_http, chat_http_options
from bot.web.chat.service import ChatService
from bot.web.chat.ws import ChatHub, chat_ws

__all__ = ["ChatHub", "ChatService", "chat_http", "chat_http_options", "chat_ws"]
