"""Alembic environment of the handoff tables, configured in code (see bot.handoff.db.upgrade)."""
from bot.handoff.db import VERSION_TABLE
from bot.handoff.models import Base
from bot.status.db import run_migrations

run_migrations(Base.metadata, VERSION_TABLE, prefix="handoff_")
