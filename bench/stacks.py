"""The two stacks the bench compares, each started on free loopback ports and stopped for sure.

- `StockStack`: what a plain Rasa deployment of the same model looks like: `rasa run
  --enable-api` with default endpoints (in-memory tracker and lock store) and `rasa run actions`
  with our actions/ package; users post to the REST channel webhook.
- `ProductStack`: the product's own launcher stack (action server, Rasa, gateway), set up by
  `launcher.Stack` exactly as `python -m bot run` does; users speak the widget's WebSocket
  protocol to the gateway. The gateway's per-client rate limits are raised for the run (all
  bench users come from one address and user agent, so they are one client to the gateway).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.load import RestUser, UserFactory, WidgetUser
from bot import launcher
from bot.settings import ROOT, Settings, load

READY_TIMEOUT_S = 300.0
# Environment for the product run: limits a single client would hit within seconds.
PRODUCT_OVERRIDES = {
    "KW_RATE_LIMIT_PER_MINUTE": "1000000",
    # Proposed setting (bot/web/chat.py CONNECT_RATE_PER_MINUTE); today the connection limit is
    # max(60, KW_RATE_LIMIT_PER_MINUTE), which the line above already raises.
    "KW_CONNECT_RATE_PER_MINUTE": "1000000",
    # Every bench user comes from 127.0.0.1, one client to the gateway: its per-client socket cap
    # (20) refused the 30 users above it at 50 users (300 errors in the run of 7 December).
    "KW_MAX_SOCKETS_PER_CLIENT": "1000",
}


free_port = launcher.free_port
http_ok = launcher.http_ok


def bench_env(var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any KW_* of the developer's, plus a fresh var dir."""
    return launcher.isolated_env(var_dir, dict({"RASA_TELEMETRY_ENABLED": "false"}, **(extra or {})))


def fresh_var(var_dir: Path) -> None:
    """An empty var dir: every run starts with empty databases and its own secrets."""
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)


def prepare_db(settings: Settings) -> None:
    """The app database's tables (the handoff question creates a helpdesk ticket)."""
    from bot import migrations

    migrations.upgrade(settings.database_url)


def wait_ready(urls: list[str], procs: list[subprocess.Popen], deadline: float, what: str) -> None:
    for url in urls:
        while not http_ok(url):
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"{what} stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.1)  # polling interval of a readiness probe


class StockStack:
    name = "stock"

    def __init__(self, model: Path, var_dir: Path) -> None:
        self.model, self.var_dir = model, var_dir
        self.env = bench_env(var_dir)
        fresh_var(var_dir)
        self.settings = load(self.env)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> float:
        """Spawn both processes; returns seconds from spawn until both answer."""
        s = self.settings
        prepare_db(s)
        endpoints = self.var_dir / "endpoints.yml"
        endpoints.write_text(f'action_endpoint:\n  url: "{s.actions_url}"\n', encoding="utf-8")
        # Stock Rasa's own REST channel (ours, behind a token, needs rasa_runtime/serve.py).
        credentials = self.var_dir / "credentials.yml"
        credentials.write_text("rest:\n", encoding="utf-8")
        # child_env: the same environment our launcher gives (repo importable, telemetry off,
        # rasa-sdk bound to 127.0.0.1); nothing in it changes how Rasa serves.
        env = launcher.child_env(s, self.env)
        rasa = launcher.rasa_bin(s)
        cmds = {
            # `rasa run actions` is rasa-sdk's server; ours imports libraries that live only in
            # the app runtime, so stock runs the same rasa-sdk server there, unchanged.
            "actions": [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(s.actions_port)],
            "rasa": [
                rasa,
                "run",
                "--enable-api",
                "--model",
                str(self.model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
                "--interface",
                s.host,
                "--port",
                str(s.rasa_port),
            ],
        }
        logs = self.var_dir / "logs"
        logs.mkdir(exist_ok=True)
        t0 = time.monotonic()
        for name, cmd in cmds.items():
            with open(logs / f"{name}.log", "ab") as out:
                self.procs[name] = subprocess.Popen(
                    cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
        wait_ready(
            [f"http://{s.host}:{s.actions_port}/health", f"{s.rasa_url}/status"],
            list(self.procs.values()),
            t0 + READY_TIMEOUT_S,
            f"stock Rasa (logs: {logs})",
        )
        return time.monotonic() - t0

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                except ProcessLookupError:
                    pass

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items()}

    def user_factory(self) -> UserFactory:
        url = f"{self.settings.rasa_url}/webhooks/rest/webhook"
        return lambda http: RestUser(http, url)


class ProductStack:
    name = "product"

    def __init__(self, model: Path, var_dir: Path, extra: dict[str, str] | None = None) -> None:
        """``extra``: settings on top of PRODUCT_OVERRIDES (the soak's bounds, bench/soak.py)."""
        self.model, self.var_dir = model, var_dir
        self.env = bench_env(var_dir, {**PRODUCT_OVERRIDES, **(extra or {})})
        fresh_var(var_dir)
        self.settings = load(self.env)
        self.stack: launcher.Stack | None = None

    def start(self) -> float:
        """The launcher's stack; returns seconds from spawn until the gateway's /readyz is 200."""
        prepare_db(self.settings)
        self.stack = launcher.Stack(self.settings, self.model, gateway=True, mail_catcher=False)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)  # child_env() starts from os.environ
        try:
            t0 = time.monotonic()
            self.stack.start(timeout_s=READY_TIMEOUT_S)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        procs = [svc.proc for svc in self.stack.services if svc.proc is not None]
        wait_ready(
            [f"{self.settings.gateway_url}/readyz"],
            procs,
            t0 + READY_TIMEOUT_S,
            f"the product (logs: {self.var_dir / 'logs'})",
        )
        return time.monotonic() - t0

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()

    def pids(self) -> dict[str, int]:
        assert self.stack is not None
        return {svc.name: svc.proc.pid for svc in self.stack.services if svc.proc is not None}

    def user_factory(self) -> UserFactory:
        base = self.settings.gateway_url
        ws_url = base.replace("http://", "ws://", 1) + "/chat/ws"
        return lambda http: WidgetUser(http, ws_url, origin=base)
