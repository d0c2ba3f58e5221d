"""The SQLite half of a backup: the online backup API copies a consistent snapshot while the
stack keeps writing in WAL mode; a restore stages the copy beside the target and renames it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bot.backup.common import BOOKKEEPING_TABLES, BackupError, private_file


def database_file(url: str) -> Path:
    from sqlalchemy.engine import make_url

    database = make_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{url!r} is geen SQLite-bestand; daarvan kan geen backup.")
    return Path(database).expanduser().resolve()


def dump(url: str, target: Path, timeout_s: float) -> bool:
    """Copy the database at ``url`` into ``target``; False when it does not exist yet."""
    source_path = database_file(url)
    if not source_path.exists():
        return False
    # mode=ro: a backup never creates or changes the source; the read transaction of one
    # backup step is a consistent snapshot while Rasa and the actions keep writing (WAL).
    source = sqlite3.connect(f"{source_path.as_uri()}?mode=ro", uri=True, timeout=timeout_s)
    private_file(target)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"De kopie van {source_path.name} is beschadigd; probeer het opnieuw.")
    finally:
        copy.close()
        source.close()
    return True


def has_data(url: str) -> bool:
    path = database_file(url)
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        tables = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return any(
            conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables if t not in BOOKKEEPING_TABLES
        )
    finally:
        conn.close()


def restore(url: str, dump: Path | None) -> None:
    target = database_file(url)
    if dump is None:
        for side in ("", "-wal", "-shm", "-journal"):
            target.with_name(target.name + side).unlink(missing_ok=True)
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    staged.unlink(missing_ok=True)
    private_file(staged)
    # immutable=1: read the backup file as it is, without locks or side files next to it.
    source = sqlite3.connect(f"{Path(dump).resolve().as_uri()}?immutable=1", uri=True)
    copy = sqlite3.connect(staged)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    for side in ("-wal", "-shm", "-journal"):  # of the replaced database: stale once it goes
        target.with_name(target.name + side).unlink(missing_ok=True)
    os.replace(staged, target)
