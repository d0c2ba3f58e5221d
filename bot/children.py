"""What every child process of the launcher gets: files only this user can read, and death with
the launcher.

A hard stop of the launcher (kill -9, the OOM killer) runs no ``finally``: each child asks the
kernel for SIGTERM when the launcher dies (``PR_SET_PDEATHSIG``, :func:`die_with`) and stops
its own children on it.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: Files made by our processes are the user's alone (var/ holds conversations, contact details
#: and secrets; other local users must not read them).
PRIVATE_UMASK = 0o077


def private_dir(var_dir: Path, *parts: str) -> Path:
    """``var_dir`` (and the directory below it) 0700, made so when missing; files already in
    them (from a run before this rule) set to 0600."""
    path = var_dir.joinpath(*parts)
    for directory in [var_dir, path] if parts else [var_dir]:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        for child in directory.iterdir():
            if child.is_file() and not child.is_symlink():
                os.chmod(child, 0o600)
    return path


def open_private_log(path: Path) -> BinaryIO:
    """A log file for appending, created 0600 (an older one set to 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux


#: Looked up at import, in the launcher's process: the forked child, before exec, only calls it.
_PRCTL = _prctl()


def die_with(launcher_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGTERM when the launcher dies, also by kill -9, and
    stops its own children on it. The kernel sends it when the *thread* that forked the child
    ends, so children are spawned from the launcher's main thread (or a thread that lives as
    long as the stack); the setting survives exec and setsid."""

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM))
        if os.getppid() != launcher_pid:  # the launcher died before the line above
            os._exit(1)

    return preexec
