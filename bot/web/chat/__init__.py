"""The chat: one service (service.py: every frame's meaning) behind two transports that only read
and write frames, the WebSocket (ws.py) and its plain HTTP fallback (http.py); hub.py keeps the
open sockets per conversation.

Nothing is imported here, so that a module may import the hub or the service without loading
the transports (bot/web/keys.py imports both)."""
