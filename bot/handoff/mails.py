"""What the helpdesk's mails say: the answer to an applicant and the notifications to the team
mailbox, as subject, plain text and HTML (the texts are in bot/texts.py).

The answer has a greeting, the question as the applicant asked it (stored masked), the answer,
the medewerker's and the helpdesk's name and the ticket's reference; never the transcript. A
notification has the reference and a link to the console, nothing the applicant said.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from bot import texts


@dataclass(frozen=True)
class MailContent:
    subject: str
    text: str
    html: str


def ticket_reference(public_id: str) -> str:
    """A short reference of a ticket for mails (``KW-1A2B3C4D``): staff and applicant can name
    it, and it does not give away the ticket's id in the console's URLs."""
    return "KW-" + hashlib.sha256(public_id.encode("utf-8")).hexdigest()[:8].upper()


def _html(blocks: list[list[str]], *, link: str | None = None) -> str:
    """Paragraphs of escaped lines (each block one ``<p>``, its lines joined by ``<br>``)."""
    parts = []
    for block in blocks:
        lines = [html.escape(line) for line in block]
        if link is not None and block and block[-1] == link:
            lines[-1] = f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
        parts.append("<p>" + "<br>\n".join(lines) + "</p>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="nl">\n<head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif; line-height: 1.5">\n{body}\n</body>\n</html>\n'
    )


def _text(blocks: list[list[str]]) -> str:
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def answer(helpdesk: str, question: str, answer_text: str, staff_name: str, reference: str) -> MailContent:
    """The mail with a medewerker's answer to the applicant."""
    blocks = [
        [texts.MAIL_ANSWER_GREETING],
        [texts.MAIL_ANSWER_INTRO.format(helpdesk=helpdesk)],
        [texts.MAIL_ANSWER_QUESTION, *question.splitlines()],
        [texts.MAIL_ANSWER_ANSWER, *answer_text.splitlines()],
        [texts.MAIL_SIGNATURE, staff_name, helpdesk],
        [texts.MAIL_REFERENCE.format(ref=reference), texts.MAIL_ANSWER_MORE],
    ]
    return MailContent(texts.MAIL_ANSWER_SUBJECT.format(ref=reference), _text(blocks), _html(blocks))


def notification(helpdesk: str, link: str, reference: str, waited_min: int | None = None) -> MailContent:
    """A notification to the team mailbox: a new ticket, or (``waited_min``) one that waits."""
    if waited_min is None:
        subject = texts.MAIL_NEW_SUBJECT.format(ref=reference)
        lead = texts.MAIL_NEW_TEXT.format(helpdesk=helpdesk)
    else:
        subject = texts.MAIL_WAIT_SUBJECT.format(ref=reference, minutes=waited_min)
        lead = texts.MAIL_WAIT_TEXT.format(helpdesk=helpdesk, minutes=waited_min)
    blocks = [
        [lead],
        [texts.MAIL_CONSOLE_LINK, link],
        [texts.MAIL_REFERENCE.format(ref=reference), texts.MAIL_AUTOMATIC],
    ]
    return MailContent(subject, _text(blocks), _html(blocks, link=link))


__all__ = ["MailContent", "answer", "notification", "ticket_reference"]
