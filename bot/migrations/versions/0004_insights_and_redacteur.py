"""Question events for the editors' page (bot/insights) and the staff role ``redacteur``.

Revision ID: 0004_insights_and_redacteur
Revises: 0003_sessions_and_code_refs
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_insights_and_redacteur"
down_revision = "0003_sessions_and_code_refs"
branch_labels = None
depends_on = None

_ROLE_CHECK = "ck_handoff_staff_users_role"
_KINDS = "'answered', 'revised', 'second_chance', 'choices', 'fallback'"


def _roles(check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table (render_as_batch, env.py).
    with op.batch_alter_table("handoff_staff_users") as batch:
        batch.drop_constraint(_ROLE_CHECK, type_="check")
        batch.create_check_constraint(_ROLE_CHECK, check)


def upgrade() -> None:
    op.create_table(
        "kw_question_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("text", sa.String(200), nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name="ck_kw_question_events_kind"),
    )
    op.create_index("ix_kw_question_events_at", "kw_question_events", ["at"])
    _roles("role IN ('medewerker', 'beheerder', 'redacteur')")


def downgrade() -> None:
    # The old schema has no redacteur; turning one into a medewerker would open the queue and the
    # conversations to them, so those accounts are switched off instead.
    op.execute("UPDATE handoff_staff_users SET is_active = false, role = 'medewerker' WHERE role = 'redacteur'")
    _roles("role IN ('medewerker', 'beheerder')")
    op.drop_index("ix_kw_question_events_at", table_name="kw_question_events")
    op.drop_table("kw_question_events")
