"""Alembic environment of the status store, configured in code (see bot.status.db.upgrade)."""
from bot.status.db import VERSION_TABLE, run_migrations
from bot.status.models import Base

run_migrations(Base.metadata, VERSION_TABLE, prefix="status_")
