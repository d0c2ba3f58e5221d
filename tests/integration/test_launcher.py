"""The launcher supervises: a killed child is restarted with backoff, and SIGTERM to the
launcher stops every child. Run with real processes (small HTTP servers stand in for Rasa,
the action server and the gateway, so the test takes seconds, not minutes)."""
import json
import os
import signal
import subprocess
import sys
import urllib.request

from bot.settings import ROOT
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
        [sys.executable, "-c", SCRIPT, json.dumps(ports), str(tmp_path)], cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
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
