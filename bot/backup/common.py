"""What the backup's orchestration and its two halves (SQLite, PostgreSQL) share: the error an
operator reads, files only their owner can read, and which tables hold no user data."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: Tables that hold no user data: a target with rows only there counts as empty.
BOOKKEEPING_TABLES = {"kw_alembic_version"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is Dutch and meant for the operator."""


def private_dir(path: Path) -> Path:
    """A new directory readable by its owner only (var/'s rule)."""
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is filtered through the umask; this is exact
    return path


def private_file(path: Path) -> Path:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
