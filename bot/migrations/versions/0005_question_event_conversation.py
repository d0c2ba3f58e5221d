"""Question events carry a pseudonym of their conversation, so "Gesprek wissen" in the widget
can delete them with the conversation (AVG; issue 21, L6).

Revision ID: 0005_question_event_conversation
Revises: 0004_insights_and_redacteur
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_question_event_conversation"
down_revision = "0004_insights_and_redacteur"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kw_question_events", sa.Column("conversation", sa.String(40), nullable=True))
    op.create_index("ix_kw_question_events_conversation", "kw_question_events", ["conversation"])


def downgrade() -> None:
    op.drop_index("ix_kw_question_events_conversation", table_name="kw_question_events")
    with op.batch_alter_table("kw_question_events") as batch:
        batch.drop_column("conversation")
