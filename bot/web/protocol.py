"""The message protocol between widget and gateway: frame validation, error frames, history.

Every frame is one JSON object with a ``type``. See docs/widget.md for the full protocol.
Validation happens here, at the edge, before anything reaches Rasa.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from bot.core.reply import EXPECT_KEY, HANDOFF_BUTTON, HANDOFF_KEY, sources_of
from bot.status import coderefs
from bot.texts import CHAT_ERRORS

# Largest WebSocket frame or HTTP body the chat endpoints read (bytes). A message of
# max_message_chars characters fits easily (4 bytes per character at most, plus JSON).
MAX_FRAME_BYTES = 16 * 1024
# Larger frames are cut off by the WebSocket reader (close code 1009).
WS_MAX_MSG_SIZE = 64 * 1024
HISTORY_LIMIT = 200
MAX_BUTTONS = 10
MAX_TITLE_CHARS = 200
MAX_PAYLOAD_CHARS = 600
MSG_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PAYLOAD_RE = re.compile(r"^/[A-Za-z][A-Za-z0-9_]{0,63}(\{.{0,500}\})?$", re.DOTALL)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

# Topics the widget offers before the first message (payloads the gateway always accepts).
STARTERS: tuple[dict[str, str], ...] = (
    {"title": "Wat is de regeling?", "payload": "/faq_wat_is"},
    {"title": "Wie kan aanvragen?", "payload": "/faq_wie_aanvragen"},
    HANDOFF_BUTTON.as_dict(),
)
STARTER_PAYLOADS = {b["payload"]: b["title"] for b in STARTERS}


def json_object(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: frames and tracker events are read
    field by field, trusting no shape."""
    return value if isinstance(value, dict) else {}


def json_str(value: object, default: str = "") -> str:
    """``value`` when it is a string, else ``default``."""
    return value if isinstance(value, str) else default


class FrameError(Exception):
    """A client frame refused: ``code`` names the error (bot.texts.CHAT_ERRORS), ``params`` fill
    its text; a ``msg_id`` param names the message it answers."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def as_frame(self) -> dict[str, Any]:
        """The error frame for the client (its msg_id, when it has one, becomes the frame's id)."""
        params = dict(self.params)
        mid = params.pop("msg_id", None)
        return error_frame(self.code, mid, **params)


def error_frame(code: str, msg_id: str | None = None, **params: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": CHAT_ERRORS[code].format(**params)}
    if msg_id:
        frame["id"] = msg_id
    if "wait" in params:
        frame["retry_after"] = params["wait"]
    return frame


def parse_frame(raw: str) -> dict[str, Any]:
    if len(raw.encode("utf-8", "replace")) > MAX_FRAME_BYTES:
        raise FrameError("too_large")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
        raise FrameError("bad_json") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("invalid")
    return frame


def clean_text(text: str) -> str:
    """Normalise user text: NFC, no control or bidi characters, tidy whitespace."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ")
    text = _CONTROL_RE.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def message_id(frame: dict[str, Any]) -> str:
    mid = frame.get("id")
    if not isinstance(mid, str) or not MSG_ID_RE.match(mid):
        raise FrameError("invalid")
    return mid


def user_text(frame: dict[str, Any], max_chars: int) -> str:
    text = frame.get("text")
    if not isinstance(text, str):
        raise FrameError("invalid")
    if len(text) > max_chars:
        raise FrameError("too_long", max=max_chars)
    text = clean_text(text)
    # Typed text never reaches Rasa as an intent command ("/intent{...}"): only buttons may.
    text = text.lstrip("/ \n")
    if not text:
        raise FrameError("empty")
    return text


def button_payload(frame: dict[str, Any]) -> str:
    payload = frame.get("payload")
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_CHARS or not PAYLOAD_RE.match(payload):
        raise FrameError("unknown_choice")
    brace = payload.find("{")
    if brace != -1:
        try:
            entities = json.loads(payload[brace:])
        except ValueError:
            raise FrameError("unknown_choice") from None
        if not isinstance(entities, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in entities.items()
        ):
            raise FrameError("unknown_choice")
    return payload


# -- bot messages ---------------------------------------------------------------------------


def _buttons(raw: Any) -> list[dict[str, str]]:
    buttons = []
    if isinstance(raw, list):
        for b in raw[:MAX_BUTTONS]:
            if not isinstance(b, dict):
                continue
            title, payload = b.get("title"), b.get("payload")
            if isinstance(title, str) and isinstance(payload, str) and title.strip() and payload:
                buttons.append({"title": title.strip()[:MAX_TITLE_CHARS], "payload": payload[:MAX_PAYLOAD_CHARS]})
    return buttons


def _sources(custom: Any) -> dict[str, Any]:
    """A message's sources (custom data, bot/core/reply.py) as the widget gets them."""
    found = sources_of(custom)
    if found is None:
        return {}
    return {k: v for k, v in found.items() if v}


def own_message(text: str, buttons: Any = None) -> dict[str, Any]:
    """A message of the gateway's own (a fixed sentence, bot/texts.py), as the widget renders it."""
    return {"text": text, "buttons": _buttons(buttons)}


def bot_message(
    text: Any, buttons: Any = None, image: Any = None, agent: Any = None, custom: Any = None
) -> dict[str, Any] | None:
    """One bot message as the widget renders it, or None when there is nothing to show."""
    out: dict[str, Any] = {"text": text if isinstance(text, str) else "", "buttons": _buttons(buttons)}
    if isinstance(image, str) and re.match(r"^https?://", image):
        out["image"] = image
    if isinstance(agent, str) and agent.strip():
        out["agent"] = agent.strip()[:60]
    if not out["text"] and not out["buttons"] and "image" not in out:
        return None
    out.update(_sources(custom))
    return out


#: A marker the assistant sends (domain.yml, ``custom: {kw_expect: …}``) when it asks for the
#: verificatiecode: the gateway then takes the code out of the next message.
EXPECT_CODE = coderefs.EXPECT


def _expect_of(custom: Any) -> str | None:
    if isinstance(custom, dict) and custom.get(EXPECT_KEY) == EXPECT_CODE:
        return EXPECT_CODE
    return None


def expectation(messages: Iterable[dict[str, Any]]) -> str | None:
    """What the assistant's answer asks for, from its markers (never shown to the user)."""
    found = None
    for m in messages:
        found = _expect_of(m.get("custom")) or found
    return found


def about_handoff(messages: Iterable[dict[str, Any]]) -> bool:
    """Whether the answer itself is about the conversation's helpdesk question."""
    return any(isinstance(m.get("custom"), dict) and m["custom"].get(HANDOFF_KEY) for m in messages)


def from_webhook(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa REST channel answers -> bot messages. The REST channel sends a message's custom data
    (its sources) as a message of its own, right after the text: it goes back onto that text."""
    out: list[dict[str, Any]] = []
    for m in messages:
        msg = bot_message(m.get("text"), m.get("buttons"), m.get("image"), custom=m.get("custom"))
        if msg is not None:
            out.append(msg)
        elif out and "sources" not in out[-1]:
            out[-1].update(_sources(m.get("custom")))
    return out


class History:
    """What a conversation looks like to the user, rebuilt from the Rasa tracker."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.replies: dict[str, list[dict[str, Any]]] = {}  # msg_id -> bot messages after it
        self.offered: dict[str, str] = {}  # payload -> title of every button the bot offered
        self.expect: str | None = None  # what the last answer asked for (a code)

    @classmethod
    def from_tracker(cls, tracker: dict[str, Any]) -> History:
        h = cls()
        current: str | None = None
        for index, ev in enumerate(tracker.get("events") or []):
            if not isinstance(ev, dict):
                continue
            kind = ev.get("event")
            if kind == "user":
                h.expect = None
                meta = json_object(ev.get("metadata"))
                mid = json_str(meta.get("msg_id")) or None
                if mid and mid in h.replies:
                    current = None  # the same message twice (a resend race): show it once
                    continue
                text = json_str(ev.get("text"))
                if text.startswith("/"):
                    text = h.offered.get(text) or STARTER_PAYLOADS.get(text) or _pretty_payload(text)
                h.entries.append({"from": "user", "id": mid or f"e{index}", "text": text})
                current = mid
                if mid:
                    h.replies[mid] = []
            elif kind == "bot":
                data = json_object(ev.get("data"))
                h.expect = _expect_of(data.get("custom")) or h.expect
                meta = json_object(ev.get("metadata"))
                agent = meta.get("agent_name") or meta.get("agent")
                msg = bot_message(ev.get("text"), data.get("buttons"), data.get("image"), agent, data.get("custom"))
                if msg is None:
                    continue
                for b in msg["buttons"]:
                    h.offered[b["payload"]] = b["title"]
                # Helpdesk messages (bot/handoff/live.py) keep the id they were pushed with, so
                # the widget shows each once; they are no answer to the user message before them.
                handoff_id = json_str(meta.get("handoff_id")) or None
                h.entries.append(dict(msg, **{"from": "bot", "id": handoff_id or f"e{index}"}))
                if current and not handoff_id:
                    h.replies[current].append(msg)
        h.entries = h.entries[-HISTORY_LIMIT:]
        return h


def _pretty_payload(payload: str) -> str:
    name = payload[1:].split("{", 1)[0]
    return name.replace("faq_", "").replace("_", " ").strip().capitalize() or "Keuze"
