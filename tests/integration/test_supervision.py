"""Supervision that survives a hard stop, with the real `python -m bot run`: the action server,
Rasa's parent with its two workers and the gateway all die with the launcher when it is killed
with kill -9; a second start beside a running stack, or a start beside a foreign program on one
of its ports, is refused in one Dutch sentence that names the port, before anything starts.

One start of the full stack (Rasa loads its model; KW_DEV_MODEL skips training); the refusals
stop before the model is looked at, so they take the time of an import.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot import launcher
from bot.ports import command_line, parent_pid, port_holders, port_in_use
from bot.settings import ROOT, load
from tests.fixtures.gateway import alive, poll

READY_TIMEOUT_S = 600  # two Rasa workers load TensorFlow on a shared 2-core machine
GONE_TIMEOUT_S = 30  # "within seconds": every child's graceful stop is bounded well below this


def stack_env(var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    pinned = {"KW_DEV_MODEL": os.environ["KW_DEV_MODEL"]} if os.environ.get("KW_DEV_MODEL") else {}
    return launcher.isolated_env(var_dir, {"KW_RASA_WORKERS": "2", **pinned, **(extra or {})})


def run_command() -> list[str]:
    return [sys.executable, "-m", "bot", "run"]


def children_map() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            ppid = parent_pid(int(proc.name))
            if ppid is not None:
                tree.setdefault(ppid, []).append(int(proc.name))
    return tree


def descendants(root: int) -> set[int]:
    tree, found, todo = children_map(), set(), [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def with_var_dir(var_dir: Path) -> set[int]:
    """Every live process started for this stack: the launcher gives each child KW_VAR_DIR,
    and a worker re-forked by an orphaned Rasa parent would inherit it."""
    marker = f"KW_VAR_DIR={var_dir}".encode()
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ and alive(int(proc.name)):
            found.add(int(proc.name))
    return found


def ports_of(env: dict[str, str]) -> list[launcher.Port]:
    return launcher.stack_ports(load(env))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def test_kill_9_of_the_launcher_leaves_nothing_and_a_second_start_is_refused(tmp_path):
    var_dir = tmp_path / "var"
    env = stack_env(var_dir)
    ports = ports_of(env)
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        first = subprocess.Popen(run_command(), cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    stack: set[int] = set()
    try:

        def ready() -> bool:
            if first.poll() is not None:
                raise AssertionError(f"the launcher stopped ({first.returncode}): {read(out)}{read(err)}")
            return "De assistent draait." in read(out)

        poll(ready, READY_TIMEOUT_S, "the stack to report ready", interval=0.5)
        stack = descendants(first.pid)
        # The action server, Rasa's parent and its two workers, the gateway.
        assert len(stack) >= 5, [command_line(pid) for pid in stack]
        assert with_var_dir(var_dir) == {first.pid, *stack}
        for port in ports:  # every port is this start's own
            holders = port_holders(port.port)
            assert holders and holders <= stack, port

        # A second start beside it: refused by the first port (the action server's), naming the
        # process that holds it; nothing prepared or started, no traceback.
        second = subprocess.run(run_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        holders = port_holders(ports[0].port)
        assert holders, "no process holds the port"
        holder = min(holders)
        assert second.stderr.strip() == (
            f"Poort {ports[0].port} voor de actieserver is al in gebruik door proces {holder} "
            f"({command_line(holder)}); stop dat proces of kies met KW_ACTIONS_PORT een andere poort."
        )
        assert second.stdout == ""  # no demo credentials, no "De assistent draait"
        assert with_var_dir(var_dir) == {first.pid, *stack}  # nothing started, nothing stopped

        first.kill()  # what the OOM killer does: no handler, no finally
        first.wait(timeout=10)
        # Both: a process tearing down (a large Rasa worker) has no readable environ any more
        # but is not gone yet.
        poll(
            lambda: not with_var_dir(var_dir) and not any(alive(pid) for pid in stack),
            GONE_TIMEOUT_S,
            "every process of the stack to stop",
        )
        assert not [p.port for p in ports if port_in_use(p.host, p.port)]
        assert "Traceback" not in read(err)
    finally:
        for pid in [first.pid, *stack, *with_var_dir(var_dir)]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.mark.parametrize("taken", ["actieserver", "rasa-worker-2", "gateway"])
def test_a_port_held_by_a_foreign_program_is_refused_by_name(tmp_path, taken):
    var_dir = tmp_path / "var"
    env = stack_env(var_dir)
    ports = ports_of(env)
    port = {"actieserver": ports[0], "rasa-worker-2": ports[2], "gateway": ports[3]}[taken]
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", port.port))
        foreign.listen()
        result = subprocess.run(run_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"Poort {port.port} voor {port.what} is al in gebruik door proces {os.getpid()} "
            f"({command_line(os.getpid())}); stop dat proces of kies met {port.setting} "
            f"een andere poort."
        )
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
    # Nothing else started: no child wrote a log, no other port is held, no process is left.
    assert not (var_dir / "logs").exists()
    assert not [p.port for p in ports if port_in_use(p.host, p.port)]
    assert not with_var_dir(var_dir)
