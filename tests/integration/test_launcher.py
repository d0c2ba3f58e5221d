"""The launcher supervises: a killed child is restarted with backoff, SIGTERM to the launcher
stops every child, kill -9 of the launcher too, and a readiness probe answered by a process
the launcher did not start does not count. Run with real processes (small HTTP servers stand
in for Rasa, the action server and the gateway, so the tests take seconds, not minutes; the
real stack: test_supervision.py)."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot import launcher
from bot.ports import port_in_use
from bot.settings import ROOT, load
from tests.fixtures.gateway import alive, free_port, poll

SCRIPT = r"""
import json, sys
from pathlib import Path
from bot import launcher
from bot.settings import load

ports = json.loads(sys.argv[1])
settings = load({"KW_VAR_DIR": sys.argv[2]})
stack = launcher.Stack(settings, Path("unused"), gateway=False)

def build():
    stack.services = [
        launcher.Service(f"kind{i}", [sys.executable, "-m", "http.server", str(p), "--bind", "127.0.0.1"],
                         f"http://127.0.0.1:{p}/")
        for i, p in enumerate(ports)]

stack.build = build
launcher.stop_on_signals()
stack.start(timeout_s=60)
print(json.dumps([s.proc.pid for s in stack.services]), flush=True)
sys.exit(stack.wait())
"""


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_a_killed_child_comes_back_and_sigterm_stops_everything(tmp_path):
    ports = [free_port(), free_port()]
    launcher_proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(ports), str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert launcher_proc.stdout is not None and launcher_proc.stderr is not None
    try:
        pids = json.loads(launcher_proc.stdout.readline())
        assert all(serving(p) for p in ports)
        os.kill(pids[0], signal.SIGKILL)  # a crash
        poll(lambda: not serving(ports[0]), 10, "the killed child to be gone")
        poll(lambda: serving(ports[0]), 30, "the supervisor to restart it")
        assert serving(ports[1])  # the others kept serving
        launcher_proc.send_signal(signal.SIGTERM)  # what a service manager sends
        assert launcher_proc.wait(timeout=30) == 0
        assert not any(serving(p) for p in ports)
        assert not alive(pids[1])
        assert "opnieuw starten" in launcher_proc.stderr.read()
    finally:
        if launcher_proc.poll() is None:
            os.killpg(launcher_proc.pid, signal.SIGKILL)


def test_kill_9_of_the_launcher_takes_every_child_with_it(tmp_path):
    ports = [free_port(), free_port()]
    launcher_proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(ports), str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert launcher_proc.stdout is not None
    pids = []
    try:
        pids = json.loads(launcher_proc.stdout.readline())
        assert all(serving(p) for p in ports)
        # Each child runs in a session of its own (Ctrl-C reaches the launcher alone).
        assert all(os.getsid(pid) == pid for pid in pids)
        launcher_proc.kill()  # what the OOM killer does: no handler, no finally
        launcher_proc.wait(timeout=10)
        poll(lambda: not any(alive(pid) for pid in pids), 15, "the children to die with the launcher")
        assert not any(port_in_use("127.0.0.1", p) for p in ports)
    finally:
        for pid in [launcher_proc.pid, *pids]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_probe_answered_by_a_process_it_did_not_start_is_not_ready(tmp_path, monkeypatch):
    """An orphan of an earlier start answers the probe; the child of this start never listens."""
    port = free_port()
    stranger = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack = launcher.Stack(load({"KW_VAR_DIR": str(tmp_path)}), Path("unused"), gateway=False)
    child = launcher.Service(
        "kind", [sys.executable, "-c", "import signal; signal.pause()"], f"http://127.0.0.1:{port}/"
    )
    monkeypatch.setattr(stack, "build", lambda: setattr(stack, "services", [child]))
    try:
        poll(lambda: serving(port), 15, "the stranger to serve")
        with pytest.raises(RuntimeError) as refused:
            stack.start(timeout_s=3)
        assert f"op poort {port} luistert een proces dat deze start niet startte (proces {stranger.pid} " in str(
            refused.value
        )
        assert child.proc is not None and not alive(child.proc.pid)  # start() stopped what it had started
        assert stranger.poll() is None  # and left the stranger alone
    finally:
        stranger.kill()
        stranger.wait()
        stack.stop()
