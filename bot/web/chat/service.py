"""The chat's logic, the same for both transports (bot/web/chat/ws.py and http.py), which hand
every client frame to :meth:`ChatService.dispatch` with the :class:`Conversation` it belongs to:

- verifies the session token and the portal token (hello), and binds the identity to the session;
- validates, masks and rate-limits user messages before they go to Rasa;
- de-duplicates resends by client message id (in memory, and after a restart via the tracker);
- rebuilds the history from the Rasa tracker, so the gateway keeps no database of its own;
- hands messages of a conversation with a helpdesk ticket to the live handoff.

Frames are described in docs/widget.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind

from bot.core import identity
from bot.core.bounded import BoundedCache, deep_size
from bot.core.clock import monotonic
from bot.core.extract import extract_code, first_contact
from bot.core.language import looks_english
from bot.core.logs import log_event
from bot.core.masking import mask_personal_data, summary
from bot.core.reply import WITHDRAW_BUTTON
from bot.core.runner import run_db
from bot.handoff.live import LiveHandoff
from bot.handoff.states import ASSIGNED_STATES
from bot.retention import forget_conversation
from bot.settings import Settings
from bot.status import coderefs
from bot.texts import ENGLISH_NOTICE, HANDOFF_WAITING_REMINDER
from bot.web import portal as portal_mod
from bot.web.metrics import CacheFigures, GatewayMetrics, turn_outcome
from bot.web.protocol import (
    EXPECT_CODE,
    STARTER_PAYLOADS,
    STARTERS,
    FrameError,
    History,
    about_handoff,
    button_payload,
    expectation,
    from_webhook,
    json_str,
    message_id,
    own_message,
    user_text,
)
from bot.web.rasa import RasaClient, RasaUnavailable
from bot.web.ratelimit import RateLimiter
from bot.web.sessions import ChatSession, SessionCodec, client_id
from rasa_runtime import otel

log = logging.getLogger("bot.web.chat")

Emit = Callable[[dict[str, Any]], Awaitable[None]]

# hello and reset frames one socket may send per minute (per client: KW_CONNECT_RATE_PER_MINUTE).
SOCKET_SESSION_FRAMES_PER_MINUTE = 10
# The conversations whose state (lock, recent replies, offered buttons) is kept in memory are
# bounded by their estimated bytes (KW_SESSION_CACHE_MAX_BYTES) and idle time (KW_SESSION_IDLE_S),
# not by their number (bot/core/bounded.py). A conversation evicted is read back from Rasa's
# tracker at its next message. Its recent replies (for resends of a message) are bounded too:
REPLY_CACHE = 50
REPLY_CACHE_MAX_BYTES = 64 * 1024
# Deleting one conversation from the tracker store ("gesprek wissen") runs in the background.
WIPE_TIMEOUT_S = 60.0


@dataclass
class Conversation:
    """One client's chat as the service sees it, whatever carries the frames."""

    #: The pseudonymous client id (:meth:`ChatService.client_id`): what the limits count.
    client: str
    #: Sends a server frame to the client.
    emit: Emit
    #: "ws" or "http", for the turn metrics.
    transport: str
    #: A WebSocket's own key: one socket carries many frames, its handshake was limited already
    #: (so its first hello is not limited again), and its session stays with it. None for the
    #: HTTP fallback, where each frame comes alone and carries its session token.
    socket_key: str | None = None
    session: ChatSession | None = None
    #: Called with the new session and the old one before the ``ready`` frame goes out (the
    #: socket transport binds the socket to its conversation there, for pushes).
    on_session: Callable[[ChatSession, ChatSession | None], None] = lambda new, old: None
    hellos: int = 0


class SessionState:
    """What one gateway process remembers about one conversation, with an estimate of its bytes
    kept up to date as it changes (``size``)."""

    #: An empty state's estimate (its lock, dicts and flags), measured once.
    BASE_BYTES = 0

    def __init__(self, warm: bool) -> None:
        self.lock = asyncio.Lock()
        self.warm = warm  # True when `replies`/`offered` reflect the whole tracker
        #: The replies to the latest messages (by client message id), newest last: at most
        #: REPLY_CACHE of them and REPLY_CACHE_MAX_BYTES together (the newest one always).
        self.replies: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.reply_bytes = 0
        self._reply_sizes: dict[str, int] = {}
        #: Every button offered in this conversation (payload -> title): the domain's few
        #: payloads, so it stays small.
        self.offered: dict[str, str] = {}
        self._offered_bytes = 0
        self.expect: str | None = None  # what the assistant just asked for (a code)

    @property
    def size(self) -> int:
        """Estimated bytes: the empty state, its replies and its offered buttons."""
        return SessionState.BASE_BYTES + self.reply_bytes + self._offered_bytes

    def _reply(self, msg_id: str, messages: list[dict[str, Any]]) -> None:
        self.reply_bytes -= self._reply_sizes.pop(msg_id, 0)
        self.replies[msg_id] = messages
        self.replies.move_to_end(msg_id)
        size = deep_size(msg_id) + deep_size(messages)
        self._reply_sizes[msg_id] = size
        self.reply_bytes += size

    def _trim(self) -> None:
        while len(self.replies) > REPLY_CACHE or (len(self.replies) > 1 and self.reply_bytes > REPLY_CACHE_MAX_BYTES):
            mid, _ = self.replies.popitem(last=False)
            self.reply_bytes -= self._reply_sizes.pop(mid, 0)

    def _offer(self, offered: dict[str, str]) -> None:
        for payload, title in offered.items():
            if payload not in self.offered:
                self._offered_bytes += deep_size(payload) + deep_size(title)
            self.offered[payload] = title

    def remember(self, msg_id: str, messages: list[dict[str, Any]]) -> None:
        self._reply(msg_id, messages)
        self._trim()
        self._offer({b["payload"]: b["title"] for m in messages for b in m.get("buttons", [])})

    def absorb(self, history: History) -> None:
        for mid, msgs in history.replies.items():
            self._reply(mid, msgs)
        self._trim()
        self._offer(history.offered)
        self.expect = history.expect
        self.warm = True


SessionState.BASE_BYTES = deep_size(SessionState(warm=False))


class ChatService:
    def __init__(
        self,
        settings: Settings,
        rasa: RasaClient,
        metrics: Counter[str],
        handoff: LiveHandoff,
        prom: GatewayMetrics,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.settings = settings
        self.rasa = rasa
        self.metrics = metrics
        #: Turn latency and outcomes for /metrics (bot/web/metrics.py).
        self.prom = prom
        self.codec = SessionCodec(settings.cookie_secret)
        message_refused = prom.refusal("message")
        connect_refused = prom.refusal("connect")
        limit_bytes = settings.limiter_max_bytes
        self.limiter = RateLimiter(
            settings.rate_limit_per_minute, on_refused=message_refused, max_bytes=limit_bytes, clock=clock
        )
        self.connect_limiter = RateLimiter(
            settings.connect_rate_per_minute, on_refused=connect_refused, max_bytes=limit_bytes, clock=clock
        )
        self.socket_limiter = RateLimiter(
            SOCKET_SESSION_FRAMES_PER_MINUTE, on_refused=connect_refused, max_bytes=limit_bytes, clock=clock
        )
        self.max_chars = settings.max_message_chars
        #: Conversations' states, bounded by bytes and idle time; a busy one (a turn holds its
        #: lock) is never evicted.
        self._states: BoundedCache[str, SessionState] = BoundedCache(
            settings.session_cache_max_bytes,
            settings.session_idle_s,
            lambda st: st.size,
            busy=lambda st: st.lock.locked(),
            clock=clock,
        )
        prom.add_caches(self.cache_figures)
        # The live handoff: routes messages of conversations with an active helpdesk ticket.
        self.handoff = handoff
        #: Work running beside or after a turn (wipes, ticket look-ups), kept until done: the
        #: event loop holds tasks only weakly.
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- helpers ---------------------------------------------------------------------------

    def client_id(self, address: str) -> str:
        """The pseudonymous id of a client address (its rate-limit key, bot.web.security):
        what limits count and logs show, never the address itself."""
        return client_id(self.settings.cookie_secret, address)

    def limit_socket(self, client: str) -> None:
        """A new WebSocket counts as a hello (its first hello is not limited again)."""
        allowed, wait = self.connect_limiter.hit(client)
        if not allowed:
            self.metrics["ws_rate_limited"] += 1
            raise FrameError("too_many_connections", wait=wait)

    def limit_session_frame(self, client: str, socket_key: str | None = None) -> None:
        """hello and reset make sessions and tracker work: limited per client and per socket."""
        allowed, wait = self.connect_limiter.hit(client)
        if allowed and socket_key is not None:
            allowed, wait = self.socket_limiter.hit(socket_key)
        if not allowed:
            self.metrics["session_frames_rate_limited"] += 1
            raise FrameError("rate_limited", wait=wait)

    def state(self, sid: str, new: bool = False) -> SessionState:
        """The conversation's state, made when this process holds none (a new conversation:
        ``new``, warm; else cold: its next message reads the tracker first)."""
        st = self._states.get(sid)
        if st is None:
            st = SessionState(warm=new)
            self._states.put(sid, st)
        return st

    def cache_figures(self) -> dict[str, CacheFigures]:
        """Entries, estimated bytes and evictions of this service's caches, for /metrics."""
        states = self._states.values()
        replies: CacheFigures = (sum(len(st.replies) for st in states), sum(st.reply_bytes for st in states), {})
        figures: dict[str, CacheFigures] = {
            "sessions": (len(self._states), self._states.bytes, dict(self._states.evictions)),
            "replies": replies,
        }
        for name, limiter in (
            ("rate_message", self.limiter),
            ("rate_connect", self.connect_limiter),
            ("rate_socket", self.socket_limiter),
        ):
            figures[name] = (*limiter.size(), dict(limiter.evictions))
        return figures

    def _ready(self, session: ChatSession, resumed: bool, history: History | None, history_ok: bool) -> dict[str, Any]:
        portal_info: dict[str, Any] = {"status": session.portal_status}
        if session.portal_status == portal_mod.OK and session.portal:
            portal_info["gemeente"] = session.portal["gemeente"]
        return {
            "type": "ready",
            "session": self.codec.issue(session),
            "resumed": resumed,
            # None means: the history could not be fetched now; keep what you show.
            "history": (history.entries if history else []) if history_ok else None,
            "portal": portal_info,
            "limits": {"max_chars": self.max_chars},
            "starters": list(STARTERS),
        }

    async def _load_history(self, session: ChatSession) -> History | None:
        try:
            tracker = await self.rasa.tracker(session.sid)
        except RasaUnavailable as exc:
            log_event(log, "history_unavailable", session=session.log_id, reason=str(exc))
            return None
        history = History.from_tracker(tracker)
        self.state(session.sid).absorb(history)
        self._states.resize(session.sid)
        return history

    # -- frames ----------------------------------------------------------------------------

    async def dispatch(self, frame: dict[str, Any], conv: Conversation) -> None:
        """One client frame (parsed, with a ``type``), from either transport: its answers go to
        ``conv.emit``; a refused frame raises FrameError (the transport sends its error frame)."""
        kind = frame["type"]
        on_socket = conv.socket_key is not None
        if kind in ("hello", "reset") and not (on_socket and conv.hellos == 0):
            self.limit_session_frame(conv.client, conv.socket_key)
        if kind == "hello":
            conv.hellos += 1
            session, ready = await self.hello(frame, conv.client)
            self._switch(conv, session)
            await conv.emit(ready)
            return
        if kind == "ping":
            await conv.emit({"type": "pong"})
            return
        if kind not in ("message", "button", "reset"):
            raise FrameError("invalid")
        if not on_socket:
            conv.session = self.codec.parse(frame.get("session"))
        if conv.session is None:
            raise FrameError("hello_required" if on_socket else "session_expired")
        if kind == "reset":
            session, ready = self.reset(conv.session, conv.client)
            self._switch(conv, session)
            await conv.emit(ready)
        else:
            await self.message(frame, conv.session, conv.client, conv.emit, conv.transport)

    @staticmethod
    def _switch(conv: Conversation, session: ChatSession) -> None:
        old, conv.session = conv.session, session
        conv.on_session(session, old)

    async def hello(self, frame: dict[str, Any], client: str) -> tuple[ChatSession, dict[str, Any]]:
        """Start or resume a conversation. Returns the session and the `ready` frame."""
        token, portal_token = frame.get("session"), frame.get("portal_token")
        if portal_token is not None and not isinstance(portal_token, str):
            raise FrameError("invalid")
        if portal_token == "":
            portal_token = None
        previous = self.codec.parse(token) if token else None
        fingerprint = portal_mod.token_fingerprint(portal_token)
        if previous is not None and previous.portal_fp == fingerprint and not previous.portal_expired():
            # The same page (or a reload of it) reconnecting: the identity was checked before.
            session, resumed = self.codec.renew(previous), True
        else:
            if portal_token:
                check = portal_mod.verify_portal_token(portal_token, self.settings)
                claims = check.identity if check.status == portal_mod.OK else None
                status, portal_exp = check.status, check.expires
                if check.status != portal_mod.OK:
                    self.metrics[f"portal_token_{check.status}"] += 1
                    log_event(
                        log, "portal_token_rejected", status=check.status, reason=check.reason, client=client[:12]
                    )
            else:
                claims, status, portal_exp = None, portal_mod.NONE, 0
            if previous is not None and previous.portal == claims:
                session, resumed = (
                    self.codec.renew(previous, portal_status=status, portal_fp=fingerprint, portal_exp=portal_exp),
                    True,
                )
            else:
                # Another identity (or none before): never mix it into the old conversation.
                session, resumed = self.codec.new(claims, status, fingerprint, portal_exp), False
        history, history_ok = None, True
        if resumed:
            history = await self._load_history(session)
            history_ok = history is not None
        else:
            self.state(session.sid, new=True)
        self.metrics["sessions_resumed" if resumed else "sessions_started"] += 1
        log_event(
            log, "hello", session=session.log_id, client=client[:12], resumed=resumed, portal=session.portal_status
        )
        ready = self._ready(session, resumed, history, history_ok)
        if resumed:
            ready["handoff"] = await self.handoff.widget_state(session.sid)
        return session, ready

    def reset(self, session: ChatSession, client: str) -> tuple[ChatSession, dict[str, Any]]:
        fresh = self.codec.new(session.portal, session.portal_status, session.portal_fp, session.portal_exp)
        self.state(fresh.sid, new=True)
        self.metrics["sessions_reset"] += 1
        log_event(log, "reset", session=session.log_id, new_session=fresh.log_id, client=client[:12])
        # "Gesprek wissen" during a handoff: the helpdesk ticket of the old conversation ends.
        self.handoff.conversation_reset(session.sid)
        self._wipe(session)
        return fresh, self._ready(fresh, False, None, True)

    async def _seal_code(self, code: str, mid: str) -> str:
        settings = self.settings
        try:
            return await run_db(lambda: coderefs.put(settings, code), settings.db_timeout_s)
        except Exception as exc:  # never pass the code on instead
            self.metrics["code_seal_errors"] += 1
            log_event(log, "code_seal_failed", reason=type(exc).__name__)
            raise FrameError("unavailable", msg_id=mid) from None

    def _wipe(self, session: ChatSession) -> None:
        """Delete the old conversation (Rasa's tracker events and its question events for the
        editors), in the background."""

        async def wipe() -> None:
            try:
                await run_db(lambda: forget_conversation(self.settings, session.sid), WIPE_TIMEOUT_S)
                log_event(log, "wiped", session=session.log_id)
            except Exception as exc:  # the retention purge deletes it later
                log_event(log, "wipe_failed", session=session.log_id, reason=type(exc).__name__)

        self._spawn(wipe())

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _route(self, sid: str, mid: str, display: str, emit: Emit) -> Any | None:
        """With an active helpdesk ticket the message also goes to the console; the ticket, or
        None. While the ticket waits the assistant still answers; once a medewerker has it, Rasa
        is paused (records the message, answers nothing), so there is no "typing"."""
        ticket = await self.handoff.user_message(sid, mid, display)
        if ticket is None or ticket.state not in ASSIGNED_STATES:
            await emit({"type": "typing"})
        return ticket

    async def message(
        self, frame: dict[str, Any], session: ChatSession, client: str, emit: Emit, transport: str = "ws"
    ) -> None:
        """A user message or button click: validate, mask, relay to Rasa, emit ack and reply.

        A turn is measured (bot/web/metrics.py) once it passed validation and the rate limit
        and is no resend: from the frame's receipt to the reply sent, with its outcome."""
        turn: dict[str, Any] = {"outcome": None, "replied": None}
        started = time.monotonic()
        # The turn's trace starts here (bot/web/rasa.py carries it to Rasa); no text in it.
        kind = "button" if frame.get("type") == "button" else "text"
        attributes = {"kw.conversation": session.log_id, "kw.transport": transport, "kw.kind": kind}
        with otel.span("gateway.turn", attributes, kind=SpanKind.SERVER, new_trace=True) as span:
            try:
                await self._message(frame, session, client, emit, turn, started)
            finally:
                if turn["outcome"] is not None:
                    span.set_attribute("kw.outcome", turn["outcome"])
                    ended = turn["replied"] if turn["replied"] is not None else time.monotonic()
                    self.prom.turn(transport, turn["outcome"], ended - started)

    async def _message(
        self, frame: dict[str, Any], session: ChatSession, client: str, emit: Emit, turn: dict[str, Any], started: float
    ) -> None:
        kind = frame["type"]
        mid = message_id(frame)
        masked_kinds: tuple[str, ...] = ()
        raw: str | None = None
        try:
            if kind == "button":
                text = button_payload(frame)
                display = json_str(frame.get("title"))
            else:
                raw = user_text(frame, self.max_chars)
                masked = mask_personal_data(raw)
                text = display = masked.text
                masked_kinds = summary(masked.kinds)
        except FrameError as exc:
            exc.params.setdefault("msg_id", mid)
            raise
        if session.portal_expired():
            # The portal token ended, so does its gemeente scope: the page must log in again.
            self.metrics["portal_scope_expired"] += 1
            raise FrameError("portal_expired", msg_id=mid)
        allowed, wait = self.limiter.hit(client)
        if not allowed:
            self.metrics["messages_rate_limited"] += 1
            log_event(log, "rate_limited", session=session.log_id, client=client[:12])
            raise FrameError("rate_limited", wait=wait, msg_id=mid)
        state = self.state(session.sid)
        async with state.lock:
            if not state.warm:
                # A message for a conversation this process has not seen (e.g. after a restart):
                # the tracker tells whether this message was handled before.
                await self._load_history(session)
            if kind == "button":
                title = state.offered.get(text) or STARTER_PAYLOADS.get(text)
                if title is None:
                    raise FrameError("unknown_choice", msg_id=mid)
                # The title the bot offered, not what the client claims it clicked.
                display = title
            if mid in state.replies:
                self.metrics["messages_duplicate"] += 1
                log_event(log, "duplicate", session=session.log_id)
                if raw is not None:
                    # A resend echoes no code either (as if it was asked for: nothing is sealed).
                    display = mask_personal_data(extract_code(raw, True)[1]).text
                await emit({"type": "ack", "id": mid, "text": display, "masked": list(masked_kinds), "duplicate": True})
                await emit({"type": "reply", "id": mid, "messages": state.replies[mid]})
                return
            turn["outcome"] = "error"  # until the reply is sent
            code_ref: str | None = None
            if raw is not None:
                code, rest = extract_code(raw, state.expect == EXPECT_CODE)
                if code is not None:
                    # The verificatiecode never reaches Rasa's tracker or a transcript: it
                    # travels as a one-time reference (bot/status/coderefs.py).
                    code_ref = await self._seal_code(code, mid)
                    masked = mask_personal_data(rest)
                    text = display = masked.text
                    masked_kinds = summary(masked.kinds)
            # A contact typed in any sentence: stored on the conversation's ticket below.
            contact = first_contact(raw) if raw is not None and {"email", "phone"} & set(masked_kinds) else None
            await emit({"type": "ack", "id": mid, "text": display, "masked": list(masked_kinds), "duplicate": False})
            # The ticket look-up runs beside Rasa's turn (it was a database round trip before
            # every turn); the reply waits for both. Rasa needs nothing from it: a conversation
            # a medewerker has is paused in Rasa itself.
            routing = self._spawn(self._route(session.sid, mid, display, emit))
            # Client id and portal scope signed: the actions believe only what this gateway
            # verified (bot/core/identity.py).
            metadata: dict[str, Any] = identity.signed_metadata(
                self.settings.identity_key, session.sid, client, session.portal, msg_id=mid
            )
            if code_ref is not None:
                metadata["code_ref"] = code_ref
            try:
                answer = await self.rasa.send(session.sid, text, metadata)
            except RasaUnavailable as exc:
                await routing  # the message still reaches its ticket
                self.metrics["rasa_errors"] += 1
                log_event(log, "rasa_unavailable", session=session.log_id, reason=str(exc))
                raise FrameError("unavailable", msg_id=mid) from None
            ticket = await routing
            staffed = ticket is not None and ticket.state in ASSIGNED_STATES
            messages = from_webhook(answer)
            if not messages and not staffed:
                # Rasa answers with nothing when an action failed (the action server down or
                # restarting: Rasa logs it and drops the action's events). Say so; the widget
                # offers to send the message again.
                self.metrics["rasa_empty_answers"] += 1
                log_event(log, "rasa_empty_answer", session=session.log_id)
                raise FrameError("incomplete", msg_id=mid)
            if contact is not None:
                # The contact step's ticket (made this turn) or one that waits already gets the
                # contact, encrypted; the user reads it back masked.
                said_back = await self.handoff.add_contact(session.sid, contact)
                if said_back:
                    messages.append(own_message(said_back))
            if ticket is not None and not staffed and messages and not about_handoff(answer):
                messages.append(own_message(HANDOFF_WAITING_REMINDER, [WITHDRAW_BUTTON.as_dict()]))
            if raw is not None and messages and looks_english(raw):
                messages.insert(0, own_message(ENGLISH_NOTICE))
            state.expect = expectation(answer)
            state.remember(mid, messages)
        # Estimated again once the turn let go of the lock: while it ran the state was busy and
        # could not be evicted, so the cache may have been over its bound by this state.
        self._states.resize(session.sid)
        self.metrics[f"messages_{kind}"] += 1
        log_event(
            log,
            "message",
            session=session.log_id,
            client=client[:12],
            kind=kind,
            chars=len(text),
            masked=list(masked_kinds),
            replies=len(messages),
            ms=int((time.monotonic() - started) * 1000),
        )
        await emit({"type": "reply", "id": mid, "messages": messages})
        turn["replied"] = time.monotonic()
        turn["outcome"] = turn_outcome(answer, staffed or about_handoff(answer))
        # A ticket the action server made for this message: the widget shows the handoff.
        changed = await self.handoff.after_reply(session.sid, ticket is not None)
        if changed:
            turn["outcome"] = "handoff"
            await emit(changed)
