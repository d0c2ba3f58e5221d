"""Start, supervise and stop the assistant's processes; train the model only when needed.

Processes: the action server (rasa-sdk), the Rasa server, and the web gateway. All bind to
127.0.0.1 except the gateway's configurable host. Readiness is polled over HTTP. A child that
dies is restarted with backoff (1 s, doubling to 30 s) while the others keep serving; SIGTERM,
SIGHUP or Ctrl-C stop every child (each runs in its own process group, so nothing is left
holding a port).

A hard stop (kill -9, the OOM killer) runs no ``finally``: every child asks the kernel for
SIGTERM when the launcher dies (``PR_SET_PDEATHSIG``, bot/children.py) and stops its own
children on it (Rasa's parent its workers). A start first checks that its ports are free and names the process that
holds one (``check_ports``), and a readiness probe counts only when the listening socket
belongs to the child this start spawned (``answered_by``), so a second start never reports
ready on a predecessor's processes. Who holds a port is read from /proc (bot/ports.py).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot import nlp_pipeline
from bot.children import PRIVATE_UMASK, die_with, open_private_log, private_dir
from bot.ports import answered_by, holder, port_in_use, url_port
from bot.settings import Settings, dev_model
from rasa_runtime import endpoints as endpoints_file

# The intent classifier is our own code (config.yml names it): a change to it is a change to the model.
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "rasa_runtime/linear_intents.py")
# Restart backoff of a crashed child; it resets once the child has run STABLE_S seconds.
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (a Rasa server's workers)."""
    while True:
        base = free_port()
        try:
            for port in range(base + 1, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue


def isolated_env(var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a stack of its own (tests, the bench): this process's environment
    without the developer's KW_* settings, a fresh var dir, free ports, the shared Dutch
    pipeline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KW_")}
    env.update(
        {
            "KW_VAR_DIR": str(var_dir),
            "KW_RASA_PORT": str(free_ports(2)),  # room for two Rasa workers
            "KW_ACTIONS_PORT": str(free_port()),
            "KW_GATEWAY_PORT": str(free_port()),
            "KW_SPACY_MODEL_DIR": str(Path(__file__).resolve().parent.parent / "var" / "spacy" / "nl"),
        }
    )
    env.update(extra or {})
    return env


def child_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for child processes: the same KW_* settings, telemetry off, repo importable."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",  # a government service sends nothing out
            "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.root), env.get("PYTHONPATH")])),
            "SANIC_HOST": settings.host,  # rasa-sdk binds to this interface
            "KW_VAR_DIR": str(settings.var_dir),
            "KW_RASA_TOKEN": settings.rasa_token,
            "KW_RASA_WORKERS": str(settings.rasa_workers),
            "KW_SESSION_MAX_TURNS": str(settings.session_max_turns),
            # Logs and traces of every child (rasa_runtime/jsonlogs.py, otel.py); the Rasa
            # process reads them here, as it cannot import bot.settings.
            "KW_LOG_FORMAT": settings.log_format,
            "KW_LOG_LEVEL": settings.log_level,
            "KW_OTLP_ENDPOINT": settings.otlp_endpoint,
            "KW_TRACE_FILE": settings.trace_file,
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    )
    env.update(extra or {})
    return env


def rasa_bin(settings: Settings) -> str:
    """Rasa's CLI in the Rasa runtime (its own Python 3.10 venv)."""
    return str(settings.rasa_venv / "bin" / "rasa")


def rasa_python(settings: Settings) -> Path:
    return settings.rasa_venv / "bin" / "python"


def rasa_version(settings: Settings) -> str:
    """The installed Rasa's version, read from the Rasa runtime's metadata (no import)."""
    found = sorted(settings.rasa_venv.glob("lib/python3*/site-packages/rasa-*.dist-info"))
    if not found:
        raise RuntimeError(f"Rasa is niet geïnstalleerd in {settings.rasa_venv}; draai eerst `make setup`.")
    return importlib.metadata.Distribution.at(found[0]).version


class RasaRuntimeRefused(RuntimeError):
    """The Rasa runtime's versions are not the ones rasa_runtime/ was written for; the message
    says which (rasa_runtime/versions.py)."""


def check_rasa_runtime(settings: Settings) -> str | None:
    """Why the Rasa runtime would refuse to start (rasa_runtime/versions.py, run in the Rasa
    runtime's own interpreter: a tenth of a second), or None when its versions are the pinned
    ones. Checked before a model is trained or a process started, so a changed pin costs no
    training and says why at once."""
    python = rasa_python(settings)
    if not python.exists():
        return f"Rasa is niet geïnstalleerd in {settings.rasa_venv}; draai eerst `make setup`."
    done = subprocess.run(
        [str(python), str(settings.root / "rasa_runtime" / "versions.py")],
        cwd=settings.root,
        env=child_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return None
    reason = last_line(done.stderr) or f"code {done.returncode}"
    return f"De Rasa-runtime past niet bij rasa_runtime/: {reason}"


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` (a child's log or stderr), stripped; "" when none."""
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


# -- training ------------------------------------------------------------------------------


def fingerprint(settings: Settings) -> str:
    """Hash of everything training depends on, including which Dutch pipeline is in use."""
    h = hashlib.sha256()
    root = settings.root
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        files += sorted(p for p in path.rglob("*.yml")) if path.is_dir() else [path]
    for path in files:
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    h.update(json.dumps(nlp_pipeline.identity(settings.spacy_model_dir), sort_keys=True).encode())
    h.update(rasa_version(settings).encode())
    return h.hexdigest()[:12]


def model_path(settings: Settings) -> Path:
    pinned = dev_model()
    if pinned is not None:
        return pinned
    return settings.root / "models" / f"kw-{fingerprint(settings)}.tar.gz"


def ensure_model(settings: Settings, force: bool = False) -> Path:
    """Train unless a model for exactly these inputs exists; returns the model file. Raises
    :class:`RasaRuntimeRefused` first when the Rasa runtime has other versions than pinned."""
    refusal = check_rasa_runtime(settings)
    if refusal:
        raise RasaRuntimeRefused(refusal)
    ident = nlp_pipeline.prepare(settings.spacy_model_dir, rasa_python(settings))
    print(f"Nederlandse pijplijn: {nlp_pipeline.describe(ident)}", flush=True)
    path = model_path(settings)
    if dev_model() is not None:
        if not path.exists():
            raise RuntimeError(f"KW_DEV_MODEL={path} bestaat niet")
        print(f"Model vastgezet met KW_DEV_MODEL: {path}", flush=True)
        return path
    if path.exists() and not force:
        print(f"Model is actueel: {path.relative_to(settings.root)}", flush=True)
        return path
    print("Trainingsdata of configuratie gewijzigd: model wordt getraind…", flush=True)
    cmd = [
        rasa_bin(settings),
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        "models",
        "--fixed-model-name",
        path.name[: -len(".tar.gz")],
    ]
    subprocess.run(cmd, cwd=settings.root, env=child_env(settings), check=True)
    path.with_suffix("").with_suffix(".json").write_text(
        json.dumps({"spacy_pipeline": ident, "fingerprint": fingerprint(settings)}, indent=2), encoding="utf-8"
    )
    return path


# -- endpoints -----------------------------------------------------------------------------


def write_endpoints(settings: Settings) -> Path:
    return endpoints_file.write(
        settings.var_dir,
        endpoints_file.endpoints(
            settings.actions_url,
            settings.tracker_store_url,
            settings.lock_store_url,
            # Rasa's tracker cache, bounded like the gateway's (rasa_runtime/stores.py).
            {"cache_max_bytes": settings.tracker_cache_max_bytes, "cache_idle_s": settings.session_idle_s},
        ),
    )


# -- processes -----------------------------------------------------------------------------


def actions_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port", str(port)]


def rasa_command(settings: Settings, model: Path, endpoints: Path, port: int) -> list[str]:
    # The token reaches Rasa through the environment (rasa_runtime/serve.py), never on a
    # command line, where `ps` shows it to every local user.
    return [
        str(rasa_python(settings)),
        str(settings.root / "rasa_runtime" / "serve.py"),
        "run",
        "--model",
        str(model),
        "--enable-api",
        "--interface",
        settings.host,
        "--port",
        str(port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        "credentials.yml",
    ]


def catcher_wanted(settings: Settings) -> bool:
    """A demo without a mail server of its own gets the local mail catcher (bot/mail/catcher.py)."""
    return not settings.production and not settings.mail.enabled


def catcher_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.mail.catcher",
        "--host",
        settings.host,
        "--port",
        str(settings.mail.catcher_port),
        "--maildir",
        str(settings.var_dir / "mail"),
    ]


def catcher_env(settings: Settings) -> dict[str, str]:
    """The gateway's mail settings for the catcher: plain SMTP on loopback (a demo only)."""
    return {
        "KW_SMTP_HOST": settings.host,
        "KW_SMTP_PORT": str(settings.mail.catcher_port),
        "KW_SMTP_SECURITY": "none",
    }


def ready(url: str) -> bool:
    """A readiness probe: HTTP 200, or for ``smtp://host:port`` a listening port."""
    if url.startswith("smtp://"):
        parts = urllib.parse.urlsplit(url)
        return parts.port is not None and port_in_use(parts.hostname or "127.0.0.1", parts.port)
    return http_ok(url)


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 200 within 2 s (a readiness probe)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


# -- the ports a start needs ------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    """A port a start needs: for what (in the refusal), the setting that moves it, where."""

    what: str
    setting: str
    host: str
    port: int


def stack_ports(settings: Settings, gateway: bool = True) -> list[Port]:
    """The ports `python -m bot run` binds: the action server, each Rasa worker, the gateway."""
    ports = [Port("de actieserver", "KW_ACTIONS_PORT", settings.host, settings.actions_port)]
    for i in range(settings.rasa_workers):
        what = "Rasa" if settings.rasa_workers == 1 else f"Rasa-worker {i + 1}"
        ports.append(Port(what, "KW_RASA_PORT", settings.host, settings.rasa_port + i))
    if gateway:
        ports.append(Port("de gateway", "KW_GATEWAY_PORT", settings.gateway_host, settings.gateway_port))
        if catcher_wanted(settings):
            ports.append(Port("de mailcatcher", "KW_SMTP_CATCHER_PORT", settings.host, settings.mail.catcher_port))
    return ports


def check_ports(ports: list[Port]) -> str | None:
    """The refusal (one Dutch sentence) for the first port that is taken, or None when all are
    free. Checked before anything starts, so a start beside a running stack (or its orphans)
    changes nothing and prints no fresh demo data."""
    for p in ports:
        if port_in_use(p.host, p.port):
            return (
                f"Poort {p.port} voor {p.what} is al in gebruik door {holder(p.port) or 'een ander proces'}; "
                f"stop dat proces of kies met {p.setting} een andere poort."
            )
    return None


@dataclass
class Service:
    name: str
    cmd: list[str]
    ready_url: str
    #: Further URLs that must answer 200 too (a Rasa server's other workers).
    also_ready: list[str] = field(default_factory=list)
    #: Settings of this process only (a replica's own port), on top of the stack's.
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log: Path | None = None
    backoff: float = 1.0
    restarts: int = 0
    restart_at: float | None = None
    started_at: float = 0.0


@dataclass
class Stack:
    settings: Settings
    model: Path
    gateway: bool = True
    #: The demo's local mail catcher (``catcher_wanted``); the bench and the soak measure the
    #: processes that answer chats and leave it out.
    mail_catcher: bool = True
    services: list[Service] = field(default_factory=list)

    def build(self) -> None:
        s = self.settings
        endpoints = write_endpoints(s)
        self.services = [
            Service("actieserver", actions_command(s.actions_port), f"http://{s.host}:{s.actions_port}/health"),
            Service(
                "rasa",
                rasa_command(s, self.model, endpoints, s.rasa_port),
                f"{s.rasa_url}/status?token={s.rasa_token}",
                also_ready=[f"{url}/status?token={s.rasa_token}" for url in s.rasa_urls[1:]],
            ),
        ]
        if self.gateway and (s.root / "bot" / "web" / "__main__.py").exists():
            gateway_env: dict[str, str] = {}
            if self.mail_catcher and catcher_wanted(s):
                # The demo's mails go to a local catcher, which writes them to var/mail/.
                catcher = f"smtp://{s.host}:{s.mail.catcher_port}"
                self.services.append(Service("mailcatcher", catcher_command(s), catcher))
                gateway_env = catcher_env(s)
            self.services.append(
                Service("gateway", [sys.executable, "-m", "bot.web"], f"{s.gateway_url}/healthz", env=gateway_env)
            )

    def start(self, timeout_s: float = 240.0) -> None:
        self.build()
        logs = private_dir(self.settings.var_dir, "logs")
        for svc in self.services:
            svc.log = logs / f"{svc.name}.log"
            self._spawn(svc)
            svc.started_at = time.monotonic()
        deadline = time.monotonic() + timeout_s
        for svc in self.services:
            self.wait_ready(svc, deadline)

    def wait_ready(self, svc: Service, deadline: float) -> None:
        urls = [svc.ready_url, *svc.also_ready]
        while True:
            if svc.proc is not None and svc.proc.poll() is not None:
                self.stop()
                said = last_line(svc.log.read_text(encoding="utf-8", errors="replace")) if svc.log else ""
                raise RuntimeError(
                    f"{svc.name} stopte tijdens het starten" + (f": {said}" if said else "") + f"; zie {svc.log}"
                )
            stranger = None
            if all(map(ready, urls)):
                stranger = self._stranger(svc, urls)
                if stranger is None:
                    return
            if time.monotonic() > deadline:
                self.stop()
                if stranger is not None:
                    raise RuntimeError(
                        f"{svc.name} is niet klaar: op poort {stranger} luistert een proces dat "
                        f"deze start niet startte ({holder(stranger) or 'onbekend'}); zie {svc.log}"
                    )
                raise RuntimeError(f"{svc.name} is niet op tijd klaar; zie {svc.log}")
            time.sleep(0.25)  # polling interval of a readiness probe, not synchronisation

    @staticmethod
    def _stranger(svc: Service, urls: list[str]) -> int | None:
        """The first probed port whose listener is not ``svc``'s process (or one of its own),
        e.g. an orphan of an earlier start; None when they all are."""
        if svc.proc is None:
            return None
        for url in urls:
            port = url_port(url)
            if port is not None and not answered_by(port, svc.proc.pid):
                return port
        return None

    def restart(self, name: str) -> None:
        svc = next(s for s in self.services if s.name == name)
        self._terminate(svc)
        self._spawn(svc)
        svc.started_at = time.monotonic()
        self.wait_ready(svc, time.monotonic() + 120)

    @staticmethod
    def _terminate(svc: Service) -> None:
        if svc.proc is None or svc.proc.poll() is not None:
            return
        try:
            os.killpg(svc.proc.pid, signal.SIGTERM)
            svc.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(svc.proc.pid, signal.SIGKILL)
            svc.proc.wait()
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for svc in reversed(self.services):
            self._terminate(svc)

    def _spawn(self, svc: Service) -> None:
        if svc.log is None:  # start() names it; a service spawned without start() gets the same
            svc.log = private_dir(self.settings.var_dir, "logs") / f"{svc.name}.log"
        out = open_private_log(svc.log)
        # umask 077: what the children create (Rasa's tracker database and its WAL files, their
        # own files) is readable by this user only. A session of its own: Ctrl-C in the terminal
        # reaches the launcher alone, which stops the children in order, and killpg stops a
        # child with whatever it started. Dies with the launcher: ``die_with``.
        svc.proc = subprocess.Popen(
            svc.cmd,
            cwd=self.settings.root,
            env=child_env(self.settings, svc.env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=PRIVATE_UMASK,
            preexec_fn=die_with(os.getpid()),
        )
        out.close()

    def supervise_once(self, now: float) -> None:
        """Restart children that exited, each after its backoff; one pass of the supervisor."""
        for svc in self.services:
            if svc.proc is None or svc.proc.poll() is None:
                continue
            if svc.restart_at is None:
                # Whatever the child had started dies with it, so nothing of it keeps the port.
                try:
                    os.killpg(svc.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                svc.restarts += 1
                svc.restart_at = now + svc.backoff
                print(
                    f"{svc.name} is gestopt (code {svc.proc.returncode}); opnieuw starten over "
                    f"{svc.backoff:.0f} s (zie {svc.log})",
                    file=sys.stderr,
                    flush=True,
                )
                svc.backoff = min(MAX_BACKOFF_S, svc.backoff * 2)
            elif now >= svc.restart_at:
                svc.restart_at = None
                self._spawn(svc)
                svc.started_at = now
        for svc in self.services:
            # A child that stayed up for a while starts its backoff anew.
            if svc.proc is not None and svc.proc.poll() is None and now - svc.started_at > STABLE_S:
                svc.backoff = MIN_BACKOFF_S

    def wait(self) -> int:
        """Supervise until stopped (Ctrl-C, or SIGTERM/SIGHUP after ``stop_on_signals``);
        then stop every child."""
        try:
            while True:
                self.supervise_once(time.monotonic())
                time.sleep(0.5)  # supervision interval
        except KeyboardInterrupt:
            print("\nStoppen…", flush=True)
            return 0
        finally:
            self.stop()


def stop_on_signals() -> None:
    """SIGTERM (what a service manager sends) and SIGHUP stop the launcher like Ctrl-C, so its
    ``finally`` stops the children; by default Python would die and leave them running."""

    def interrupt(signum, _frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
