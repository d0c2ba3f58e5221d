"""Status store: applications, requested amounts, status changes, lookup audit and failures.

Revision ID: 0001_status_store
Revises:
Create Date: 2025-06-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_status_store"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("aanvraagnummer", sa.String(12), nullable=False),
        sa.Column("gemeente", sa.String(100), nullable=False),
        sa.Column("gemeente_key", sa.String(100), nullable=False),
        sa.Column("gebied", sa.String(200), nullable=True),
        sa.Column("submitted_at", sa.Date(), nullable=True),
        sa.Column("granted_amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("missing_items", sa.Text(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("next_step_date", sa.Date(), nullable=True),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("aanvraagnummer", name="uq_status_applications_aanvraagnummer"),
    )
    op.create_index("ix_status_applications_gemeente_key", "status_applications", ["gemeente_key"])
    op.create_table(
        "status_requested_amounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey("status_applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("thema", sa.String(100), nullable=False),
        sa.Column("jaar", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("application_id", "thema", "jaar", name="uq_status_amount"),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey("status_applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("change_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("application_id", "change_id", name="uq_status_change_id"),
    )
    op.create_index("ix_status_changes_application_id", "status_changes", ["application_id"])
    op.create_table(
        "status_lookup_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("aanvraagnummer", sa.String(12), nullable=False),
        sa.Column("gemeente", sa.String(100), nullable=True),
        sa.Column("result", sa.String(12), nullable=False),
    )
    op.create_index("ix_status_lookup_audit_at", "status_lookup_audit", ["at"])
    op.create_table(
        "status_lookup_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_status_lookup_failures_key_at", "status_lookup_failures", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_status_lookup_failures_key_at", table_name="status_lookup_failures")
    op.drop_table("status_lookup_failures")
    op.drop_index("ix_status_lookup_audit_at", table_name="status_lookup_audit")
    op.drop_table("status_lookup_audit")
    op.drop_index("ix_status_changes_application_id", table_name="status_changes")
    op.drop_table("status_changes")
    op.drop_table("status_requested_amounts")
    op.drop_index("ix_status_applications_gemeente_key", table_name="status_applications")
    op.drop_table("status_applications")
