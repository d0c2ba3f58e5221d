"""Handoff: staff users, tickets, their events, messages, notes and canned replies.

Revision ID: 0002_handoff
Revises: 0001_status_store
Create Date: 2025-06-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_handoff"
down_revision = "0001_status_store"
branch_labels = None
depends_on = None

# Snapshots of the values at this revision (bot/handoff/states.py and models.py may grow).
_STATES = "'wachtrij', 'opgepakt', 'live', 'afgerond', 'teruggegeven'"
_ACTIVE = "state IN ('wachtrij', 'opgepakt', 'live')"


def upgrade() -> None:
    op.create_table(
        "handoff_staff_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("username", name="uq_handoff_staff_users_username"),
        sa.CheckConstraint("role IN ('medewerker', 'beheerder')", name="ck_handoff_staff_users_role"),
    )
    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("contact_kind", sa.String(10), nullable=True),
        sa.Column("contact_masked", sa.String(120), nullable=True),
        sa.Column("contact_encrypted", sa.Text(), nullable=True),
        sa.Column("gemeente", sa.String(100), nullable=True),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column(
            "assigned_to",
            sa.Integer(),
            sa.ForeignKey("handoff_staff_users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("live_at", sa.DateTime(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.UniqueConstraint("public_id", name="uq_handoff_tickets_public_id"),
        sa.CheckConstraint(f"state IN ({_STATES})", name="ck_handoff_tickets_state"),
    )
    op.create_index("ix_handoff_tickets_conversation_id", "handoff_tickets", ["conversation_id"])
    op.create_index("ix_handoff_tickets_assigned_to", "handoff_tickets", ["assigned_to"])
    op.create_index("ix_handoff_tickets_state_created", "handoff_tickets", ["state", "created_at"])
    op.create_index(
        "uq_handoff_tickets_active_conversation",
        "handoff_tickets",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text(_ACTIVE),
        sqlite_where=sa.text(_ACTIVE),
    )
    op.create_table(
        "handoff_ticket_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("handoff_tickets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(20), nullable=False),
        sa.Column(
            "staff_id",
            sa.Integer(),
            sa.ForeignKey("handoff_staff_users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("actor_name", sa.String(80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "actor IN ('medewerker', 'gebruiker', 'assistent', 'systeem')",
            name="ck_handoff_ticket_events_actor",
        ),
    )
    op.create_index("ix_handoff_ticket_events_ticket_id", "handoff_ticket_events", ["ticket_id"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("handoff_tickets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(12), nullable=False),
        sa.Column("author", sa.String(80), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("client_msg_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("ticket_id", "seq", name="uq_handoff_messages_seq"),
        sa.UniqueConstraint("ticket_id", "client_msg_id", name="uq_handoff_messages_client_msg_id"),
        sa.CheckConstraint(
            "sender IN ('gebruiker', 'medewerker', 'assistent', 'systeem')",
            name="ck_handoff_messages_sender",
        ),
    )
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("handoff_tickets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "staff_id",
            sa.Integer(),
            sa.ForeignKey("handoff_staff_users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("author", sa.String(80), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_handoff_notes_ticket_id", "handoff_notes", ["ticket_id"])
    op.create_table(
        "handoff_canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("title", name="uq_handoff_canned_replies_title"),
    )


def downgrade() -> None:
    op.drop_table("handoff_canned_replies")
    op.drop_index("ix_handoff_notes_ticket_id", table_name="handoff_notes")
    op.drop_table("handoff_notes")
    op.drop_table("handoff_messages")
    op.drop_index("ix_handoff_ticket_events_ticket_id", table_name="handoff_ticket_events")
    op.drop_table("handoff_ticket_events")
    op.drop_index("uq_handoff_tickets_active_conversation", table_name="handoff_tickets")
    op.drop_index("ix_handoff_tickets_state_created", table_name="handoff_tickets")
    op.drop_index("ix_handoff_tickets_assigned_to", table_name="handoff_tickets")
    op.drop_index("ix_handoff_tickets_conversation_id", table_name="handoff_tickets")
    op.drop_table("handoff_tickets")
    op.drop_table("handoff_staff_users")
