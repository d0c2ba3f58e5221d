"""The helpdesk's outbox: mails stored before they are sent (issue 24).

Revision ID: 0006_outbox
Revises: 0005_question_event_conversation
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox"
down_revision = "0005_question_event_conversation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("dedupe_key", sa.String(120), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipient_encrypted", sa.Text(), nullable=False),
        sa.Column("recipient_masked", sa.String(120), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column(
            "staff_id", sa.Integer(), sa.ForeignKey("handoff_staff_users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("author", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("message_id", name="uq_handoff_outbox_message_id"),
        sa.UniqueConstraint("dedupe_key", name="uq_handoff_outbox_dedupe_key"),
        sa.CheckConstraint("status IN ('wacht', 'bezig', 'verstuurd', 'mislukt')", name="ck_handoff_outbox_status"),
        sa.CheckConstraint("kind IN ('antwoord', 'melding')", name="ck_handoff_outbox_kind"),
    )
    op.create_index("ix_handoff_outbox_ticket_id", "handoff_outbox", ["ticket_id"])
    op.create_index("ix_handoff_outbox_status_next", "handoff_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_handoff_outbox_status_next", table_name="handoff_outbox")
    op.drop_index("ix_handoff_outbox_ticket_id", table_name="handoff_outbox")
    op.drop_table("handoff_outbox")
