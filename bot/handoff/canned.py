"""Canned replies: the helpdesk's standard answers (beheerders manage them)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.core import db
from bot.core.clock import utcnow
from bot.handoff.errors import PermissionDenied
from bot.handoff.models import MESSAGE_MAX, ROLE_BEHEERDER, CannedReply
from bot.handoff.staff import StaffView
from bot.handoff.store import Store
from bot.handoff.values import clean_text as _clean_text
from bot.handoff.values import clip as _clip
from bot.handoff.views import CannedReplyView


class CannedReplies(Store):
    def canned_replies(self) -> list[CannedReplyView]:
        with self._session() as session:
            rows = session.execute(select(CannedReply).order_by(CannedReply.title)).scalars()
            return [CannedReplyView(r.id, r.title, r.text) for r in rows]

    def _require_beheerder(self, session: Session, by: StaffView | int | None) -> None:
        if by is None:
            return  # CLI / system
        if self._staff(session, by).role != ROLE_BEHEERDER:
            raise PermissionDenied("Alleen een beheerder mag standaardantwoorden beheren.")

    def save_canned_reply(self, title: str, text: str, *, by: StaffView | int | None = None) -> CannedReplyView:
        """Create or (same title) update a canned reply; ``by`` must be a beheerder when given."""
        title = _clip(" ".join(_clean_text(title).split()), 100)
        body = _clean_text(text)
        if not title or not body:
            raise ValueError("titel en tekst zijn nodig")
        if len(body) > MESSAGE_MAX:
            raise ValueError(f"een standaardantwoord heeft hoogstens {MESSAGE_MAX} tekens")
        now = utcnow()
        with self._session() as session:
            self._require_beheerder(session, by)
            row = session.execute(select(CannedReply).where(CannedReply.title == title)).scalars().first()
            if row is None:
                row = CannedReply(title=title, text=body, created_at=now, updated_at=now)
                session.add(row)
            else:
                row.text, row.updated_at = body, now
            session.flush()
            return CannedReplyView(row.id, row.title, row.text)

    def delete_canned_reply(self, reply_id: int, *, by: StaffView | int | None = None) -> bool:
        with self._session() as session:
            self._require_beheerder(session, by)
            return bool(
                db.affected_rows(
                    session.execute(
                        delete(CannedReply)
                        .where(CannedReply.id == reply_id)
                        .execution_options(synchronize_session=False)
                    )
                )
            )
