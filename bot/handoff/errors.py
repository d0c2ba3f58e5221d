"""The handoff's exceptions; messages are Dutch and contain no personal data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handoff.staff import PermissionDenied  # raised by the service too
from bot.handoff.states import InvalidTransition  # raised by the service too

if TYPE_CHECKING:  # pragma: no cover
    from bot.handoff.views import TicketView


class HandoffError(Exception):
    """Base class; messages are Dutch and contain no personal data."""


class TicketNotFound(HandoffError, LookupError):
    pass


class TicketConflict(HandoffError):
    """The ticket changed meanwhile (another staff member or process was first)."""

    def __init__(self, message: str, ticket: TicketView | None = None):
        super().__init__(message)
        self.ticket = ticket


class AlreadyClaimed(TicketConflict):
    """Someone else picked up the ticket first; ``ticket`` shows who (``assigned_name``)."""


class NotAssigned(HandoffError, PermissionError):
    """The staff member is not the one handling this ticket (and is no beheerder)."""


class TicketClosed(HandoffError):
    """The ticket's state does not accept this message any more."""


class UnknownStaff(HandoffError, LookupError):
    pass


__all__ = [
    "AlreadyClaimed",
    "HandoffError",
    "InvalidTransition",
    "NotAssigned",
    "PermissionDenied",
    "TicketClosed",
    "TicketConflict",
    "TicketNotFound",
    "UnknownStaff",
]
