"""Which process listens on a port, from Linux's /proc.

/proc/net/tcp{,6} maps a listening port to a socket inode, /proc/<pid>/fd maps the inode to the
processes that hold it. Where /proc is missing, the functions say so (None) and the callers fall
back to what HTTP tells. The launcher uses them to refuse a start whose ports are taken (naming
the holder) and to count a readiness probe only when its own child answered.
"""

from __future__ import annotations

import errno
import os
import socket
import urllib.parse
from pathlib import Path

TCP_LISTEN = "0A"
#: How much of a holder's command line a message shows.
COMMAND_SHOWN = 100


def port_in_use(host: str, port: int) -> bool:
    """Whether a server could not bind ``host:port`` now. SO_REUSEADDR as the servers set it,
    so a closed connection's TIME_WAIT does not count as in use."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE  # any other error is the child's to report
    return False


def listening_inodes(port: int) -> set[str] | None:
    """Inodes of the TCP sockets listening on ``port`` (any address); None without /proc."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not any(t.exists() for t in tables):
        return None
    inodes: set[str] = set()
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == TCP_LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def port_holders(port: int) -> set[int] | None:
    """Pids of the processes holding a socket that listens on ``port``; None without /proc.
    Processes whose descriptors this user may not read are missing from the set."""
    inodes = listening_inodes(port)
    if inodes is None:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    pids: set[int] = set()
    if not wanted:
        return pids
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list(os.scandir(proc / "fd"))
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd.path) in wanted:
                    pids.add(int(proc.name))
                    break
            except OSError:
                continue
    return pids


def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def descends_from(pid: int | None, root: int) -> bool:
    """Whether ``pid`` is ``root`` or one of its descendants (a Rasa worker of the Rasa parent)."""
    while pid is not None and pid > 1:
        if pid == root:
            return True
        pid = parent_pid(pid)
    return pid == root


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    # One line whatever the arguments hold (a `python -c` script spans several).
    text = " ".join(raw.replace(b"\0", b" ").decode("utf-8", "replace").split())
    return text if len(text) <= COMMAND_SHOWN else text[: COMMAND_SHOWN - 1] + "…"


def holder(port: int) -> str | None:
    """Who holds ``port``, for a Dutch sentence ("proces 123 (its command line)"); None when
    /proc does not tell."""
    holders = sorted(port_holders(port) or ())
    if not holders:
        return None
    cmd = command_line(holders[0])
    return f"proces {holders[0]}" + (f" ({cmd})" if cmd else "")


def answered_by(port: int, root: int) -> bool:
    """Whether every socket listening on ``port`` belongs to ``root`` or its descendants, so an
    HTTP answer on it came from the process this start spawned. True without /proc (then the
    answer is all there is to go on)."""
    holders = port_holders(port)
    if holders is None:
        return True
    return bool(holders) and all(descends_from(pid, root) for pid in holders)


def url_port(url: str) -> int | None:
    parts = urllib.parse.urlsplit(url)
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
