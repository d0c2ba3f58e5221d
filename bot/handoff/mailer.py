"""The outbox worker: sends the helpdesk's stored mails (bot/handoff/outbox.py) and queues the
notifications to the team mailbox.

One worker runs in every gateway (started in the app's ``cleanup_ctx``). It takes one due mail
at a time (a conditional update: of several gateways exactly one gets it), composes it with its
stored Message-ID (bot/mail/compose.py) and sends it (bot/mail/smtp.py). On success the mail is
``verstuurd``; on a failure it waits ``KW_SMTP_RETRY_S`` seconds, doubling to
``KW_SMTP_RETRY_MAX_S``, until ``KW_SMTP_MAX_ATTEMPTS`` attempts or a permanent refusal make it
``mislukt``. The worker sleeps until a mail is queued in this process (:meth:`wake`) or
``KW_SMTP_POLL_S`` passed (mails queued by other processes, retries that came due).

Notifications (with ``KW_HELPDESK_MAILBOX``): for each waiting ticket, once, "new question"
(``KW_HELPDESK_NOTIFY_NEW``) and, while the helpdesk is open, "waits longer than
``KW_HELPDESK_NOTIFY_WAIT_MIN`` minutes". They carry the ticket's reference and a console link,
nothing the applicant said.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.clock import utcnow
from bot.core.logs import log_event
from bot.core.runner import run_db
from bot.handoff import mails
from bot.handoff.hours import OpeningHours
from bot.handoff.outbox import ClaimedMail, OutboxView
from bot.handoff.service import HandoffService
from bot.mail import smtp
from bot.mail.compose import Mail, compose, new_message_id
from bot.settings import MailSettings

log = logging.getLogger("bot.handoff.mailer")


class MailMetrics(Protocol):
    """What the worker counts (bot/web/metrics.py's GatewayMetrics)."""

    def count_mail_sent(self, kind: str) -> None: ...

    def count_mail_failed(self, reason: str, permanent: bool) -> None: ...


class _NoMetrics:
    def count_mail_sent(self, kind: str) -> None:
        pass

    def count_mail_failed(self, reason: str, permanent: bool) -> None:
        pass


#: A ticket counts as new for a notification this long (a first start does not announce old ones).
NEW_WITHIN_S = 24 * 3600

#: Called after a mail's status changed: (ticket id or None, the new status).
OnResult = Callable[[int | None, str], Awaitable[None]]


def backoff_s(config: MailSettings, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return float(min(config.retry_max_s, config.retry_s * 2 ** max(0, attempts - 1)))


class OutboxWorker:
    def __init__(
        self,
        service: HandoffService,
        config: MailSettings,
        hours: OpeningHours,
        *,
        db_timeout_s: float,
        metrics: MailMetrics | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        self.service = service
        self.config = config
        self.hours = hours
        self.db_timeout_s = db_timeout_s
        self.metrics: MailMetrics = metrics or _NoMetrics()
        self.on_result = on_result
        #: Who holds a mail while this worker sends it (one per process start).
        self.name = f"w-{secrets.token_hex(8)}"
        #: The whole SMTP transaction of one attempt is bounded by this (each command also by
        #: timeout_s); a mail is held a little longer, so no other worker takes it meanwhile.
        self.send_bound_s = config.timeout_s * 4
        self.lease_s = self.send_bound_s + 5
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def wake(self) -> None:
        """A mail was queued in this process: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def run(self) -> None:
        while True:
            try:
                await self.notify_due()
                while await self.send_next():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: try again at the next poll
                log_event(log, "outbox_worker_error", level=logging.WARNING, reason=type(exc).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()

    # -- sending -------------------------------------------------------------------------------

    async def _db[T](self, fn: Callable[[], T]) -> T:
        return await run_db(fn, self.db_timeout_s)

    def message_of(self, claimed: ClaimedMail) -> Mail:
        return Mail(
            sender=self.config.sender,
            sender_name=self.config.helpdesk_name,
            recipient=claimed.recipient,
            subject=claimed.subject,
            text=claimed.text,
            html=claimed.html,
            message_id=claimed.message_id,
            date=claimed.created_at,
            automatic=claimed.kind == "melding",
        )

    async def send_next(self) -> bool:
        """Send the next due mail, if any; True when there was one."""
        now = utcnow()
        claimed = await self._db(lambda: self.service.claim_mail(self.name, self.lease_s, now))
        if claimed is None:
            return False
        try:
            async with asyncio.timeout(self.send_bound_s):
                await smtp.send(self.config, compose(self.message_of(claimed)), claimed.recipient)
        except smtp.SendFailure as failure:
            await self._failed(claimed, failure)
        except TimeoutError:
            await self._failed(claimed, smtp.SendFailure("timeout"))
        else:
            done = await self._db(lambda: self.service.mail_sent(claimed.id, self.name))
            self.metrics.count_mail_sent(claimed.kind)
            log_event(log, "outbox_mail_sent", mail=claimed.id, ticket=claimed.ticket_id, attempt=claimed.attempts)
            if not done:  # the lease ran out meanwhile; the mail still went once
                log_event(log, "outbox_mail_lease_lost", level=logging.WARNING, mail=claimed.id)
            await self._tell(claimed.ticket_id, "verstuurd")
        return True

    async def _failed(self, claimed: ClaimedMail, failure: smtp.SendFailure) -> None:
        give_up = failure.permanent or claimed.attempts >= self.config.max_attempts
        retry_at = None if give_up else utcnow() + dt.timedelta(seconds=backoff_s(self.config, claimed.attempts))
        await self._db(lambda: self.service.mail_failed(claimed.id, self.name, failure.reason, retry_at))
        self.metrics.count_mail_failed(failure.kind, give_up)
        log_event(
            log,
            "outbox_mail_failed",
            level=logging.WARNING,
            mail=claimed.id,
            ticket=claimed.ticket_id,
            attempt=claimed.attempts,
            reason=failure.kind,
            code=failure.code,
            given_up=give_up,
        )
        await self._tell(claimed.ticket_id, "mislukt" if give_up else "wacht")

    async def _tell(self, ticket_id: int | None, status: str) -> None:
        if self.on_result is None:
            return
        try:
            await self.on_result(ticket_id, status)
        except Exception:  # the consoles catch up by their poll
            log.exception("outbox result not announced")

    # -- notifications to the team mailbox -----------------------------------------------------

    async def notify_due(self, now: dt.datetime | None = None) -> int:
        """Queue the notifications that are due; returns how many were queued."""
        config = self.config
        if not config.team_mailbox or not (config.notify_new or config.notify_wait_min > 0):
            return 0
        now = now or utcnow()
        waiting = await self._db(lambda: self.service.queue(now))
        is_open = self.hours.is_open(now.replace(tzinfo=dt.UTC))
        queued = 0
        for item in waiting:
            due: list[tuple[str, int | None]] = []
            if config.notify_new and item.waiting_s < NEW_WITHIN_S:
                due.append((f"nieuw:{item.ticket_id}", None))
            if config.notify_wait_min > 0 and is_open and item.waiting_s >= config.notify_wait_min * 60:
                due.append((f"wacht:{item.ticket_id}", config.notify_wait_min))
            for dedupe, minutes in due:
                if await self._notify(item.ticket_id, item.public_id, dedupe, minutes):
                    queued += 1
        return queued

    async def _notify(self, ticket_id: int, public_id: str, dedupe: str, minutes: int | None) -> bool:
        config = self.config
        link = f"{config.public_url}/helpdesk/vraag/{public_id}"
        content = mails.notification(config.helpdesk_name, link, mails.ticket_reference(public_id), minutes)

        def store() -> OutboxView | None:
            return self.service.queue_notification(
                ticket_id, dedupe, config.team_mailbox, content, message_id=new_message_id(config.sender)
            )

        view = await self._db(store)
        if view is None:
            return False
        log_event(log, "outbox_notification_queued", mail=view.id, ticket=ticket_id)
        self.wake()
        return True


__all__ = ["MailMetrics", "OutboxWorker", "backoff_s"]
