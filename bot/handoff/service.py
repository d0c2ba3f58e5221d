"""What the gateway, the console and the Rasa actions call: tickets, transitions, messages.

Every method runs in its own short transaction on the app database and returns plain frozen
dataclasses (never ORM objects, :mod:`bot.handoff.views`), so callers can hand them across
threads and to templates. Methods are synchronous; async callers use bot.core.runner.

:class:`HandoffService` is one object put together from one module per concern:

* :mod:`bot.handoff.tickets`    creation, contact, claim and the other transitions
* :mod:`bot.handoff.messages`   messages (ordered, idempotent by client_msg_id) and notes
* :mod:`bot.handoff.queries`    a ticket with its transcript, a conversation's tickets, the queue
* :mod:`bot.handoff.canned`     canned replies
* :mod:`bot.handoff.outbox`     the helpdesk's mails: stored first, taken by the worker once
* :mod:`bot.handoff.retention`  purge of finished tickets, "gesprek wissen"
* :mod:`bot.handoff.store`      the engine, one transaction per call, shared lookups

Personal data: the question and every user message are masked
(:func:`bot.handoff.privacy.mask_text`) before they are stored; the contact is stored masked for
display and Fernet-encrypted for reaching the user (:meth:`HandoffService.contact_for`). Log
lines carry ticket ids and states only.
"""

from __future__ import annotations

from bot.handoff.canned import CannedReplies
from bot.handoff.errors import (
    AlreadyClaimed,
    HandoffError,
    InvalidTransition,
    NotAssigned,
    PermissionDenied,
    TicketClosed,
    TicketConflict,
    TicketNotFound,
    UnknownStaff,
)
from bot.handoff.messages import MAX_PAGE, Messages
from bot.handoff.outbox import Outbox
from bot.handoff.retention import Retention
from bot.handoff.store import Actor, TicketRef
from bot.handoff.tickets import Tickets
from bot.handoff.values import MAX_TRANSCRIPT
from bot.handoff.views import (
    CannedReplyView,
    EventView,
    MessageView,
    NoteView,
    QueueItem,
    TicketDetail,
    TicketView,
)
from bot.texts import ERASED_QUESTION


class HandoffService(Tickets, Messages, CannedReplies, Outbox, Retention):
    """Tickets in the app database (tables made by :func:`bot.migrations.upgrade`).

    ``HandoffService(database_url_or_engine, timeout_s, contact_key=…)`` or
    ``HandoffService.from_settings(settings)``; ``contact_key`` is one Fernet key or a list,
    newest first (``KW_CONTACT_KEY``); without one, ``create_ticket`` refuses a contact.
    """


__all__ = [
    "ERASED_QUESTION",
    "MAX_PAGE",
    "MAX_TRANSCRIPT",
    "Actor",
    "AlreadyClaimed",
    "CannedReplyView",
    "EventView",
    "HandoffError",
    "HandoffService",
    "InvalidTransition",
    "MessageView",
    "NotAssigned",
    "NoteView",
    "PermissionDenied",
    "QueueItem",
    "TicketClosed",
    "TicketConflict",
    "TicketDetail",
    "TicketNotFound",
    "TicketRef",
    "TicketView",
    "UnknownStaff",
]
