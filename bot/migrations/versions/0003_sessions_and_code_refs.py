"""Staff session version (logout ends sessions on the server) and one-time references for
verificatiecodes (the gateway keeps codes out of Rasa's tracker and the transcripts).

Revision ID: 0003_sessions_and_code_refs
Revises: 0002_handoff
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sessions_and_code_refs"
down_revision = "0002_handoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_staff_users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "status_code_refs",
        sa.Column("ref", sa.String(64), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("status_code_refs")
    with op.batch_alter_table("handoff_staff_users") as batch:
        batch.drop_column("session_version")
