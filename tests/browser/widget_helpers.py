"""Helpers for the browser tests: the gateway process, polling, and reading the widget's session."""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Optional

from bot.settings import ROOT  # noqa: E402  (the repository root)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
ANSWER_TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(condition, timeout: float, what: str, interval: float = 0.1):
    """Wait for a condition by polling it (never a fixed sleep as synchronisation)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)  # polling interval


class GatewayProcess:
    """`python -m bot.web` as a child process that tests can stop and start again."""

    def __init__(self, env: Dict[str, str], log_path: Path):
        self.env = env
        self.port = int(env["KW_GATEWAY_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.web"], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        poll(self._healthy, 60, "gateway /healthz")

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""


def session_token(page) -> str:
    stored = page.evaluate(
        "() => Object.keys(sessionStorage).filter(k => k.startsWith('kw-assistent:'))"
        ".map(k => sessionStorage.getItem(k))")
    assert len(stored) == 1, stored
    return json.loads(stored[0])["token"]


def sender_id(page) -> str:
    body = session_token(page).split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["sid"]


def tracker_events(rasa_stack, sender: str):
    url = f"{rasa_stack.rasa_url}/conversations/{sender}/tracker?token={rasa_stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))["events"]


def user_events(rasa_stack, sender: str):
    return [e for e in tracker_events(rasa_stack, sender) if e.get("event") == "user"]
