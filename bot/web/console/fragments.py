"""The console's HTML fragments: what console.js puts in an open page, rendered by the server.

The pages include the same partial templates (``templates/console/parts/``), so a transcript
line, a note or a queue row looks the same on a fresh page and after a live update, and there is
one renderer: Jinja2 with autoescaping. Fragments travel in the console socket's frames and in
the JSON answers to a reply or a note (docs/console.md, "Fragments"); console.js parses them
inert (DOMParser) and inserts or replaces whole elements, never markup of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jinja2

from bot.handoff.outbox import OutboxView
from bot.handoff.views import MessageView, NoteView, TicketView
from bot.texts import MAIL_STATUS_LABELS
from bot.web.console.render import helpers

PARTS = "console/parts/"


class Fragments:
    """Renders the partial templates outside a request (the hub has none)."""

    def __init__(self, env: jinja2.Environment, settings: Any) -> None:
        self.env = env
        self.helpers = helpers(settings)

    def render(self, part: str, **context: Any) -> str:
        return self.env.get_template(PARTS + part).render(**self.helpers, **context).strip()

    def messages(self, messages: Iterable[MessageView]) -> str:
        """``<li data-seq>`` transcript lines, for ``<ol id="berichten">``."""
        return self.render("messages.html", messages=list(messages))

    def notes(self, notes: Iterable[NoteView]) -> str:
        """``<li data-note>`` internal notes, for ``<ul id="notities">``."""
        return self.render("notes.html", notes=list(notes))

    def mails(self, ticket: TicketView, mails: Iterable[OutboxView], *, csrf: str, may_retry: bool) -> str:
        """``<li data-mail>`` lines of the ticket's mail history, for ``<ol id="mail-geschiedenis">``."""
        return self.render(
            "mails.html",
            ticket=ticket,
            mails=list(mails),
            csrf=csrf,
            may_retry=may_retry,
            mail_labels=MAIL_STATUS_LABELS,
        )

    def queue(self, snapshot: Mapping[str, Any], closed: str | None) -> dict[str, str]:
        """The queue page's live parts: both tables (console.js takes their rows, ``<tr
        data-id>``) and the opening status; ``closed`` is the sentence for a closed helpdesk,
        None while open."""
        return {
            "wachtrij": self.render("queue_waiting.html", rows=snapshot["wachtrij"]),
            "actief": self.render("queue_active.html", rows=snapshot["actief"]),
            "open": self.render("open_status.html", closed=closed),
        }

    def ticket(self, ticket: TicketView) -> dict[str, str]:
        """A ticket page's status line, and the notice shown when the status changed elsewhere."""
        return {
            "status": self.render("ticket_status.html", ticket=ticket),
            "gewijzigd": self.render("ticket_changed.html", ticket=ticket),
        }
