"""Start of a Rasa replica in a container: write endpoints.yml from the KW_* settings, then
become ``rasa_runtime/serve.py run`` (exec, so Rasa is PID 1 and gets SIGTERM directly).

Why this file: on one machine ``bot/launcher.py`` (``write_endpoints``) writes Rasa's
endpoints.yml from the settings, but it runs in the app runtime and imports ``bot/``, which the
Rasa image does not contain (Rasa's runtime runs nothing of ours but ``rasa_runtime/``; see
../shared/DESIGN.md, "Two runtimes") and which would demand every secret of the app in
production. This script uses the launcher's own writer, rasa_runtime/endpoints.py (standard library and
PyYAML, in both runtimes), and needs only what Rasa needs: the tracker store, the lock store and
where the action server is. tests/unit/test_deploy_manifests.py checks that it writes what
``write_endpoints`` writes for the same settings.

Settings read (the same names and meaning as bot/settings.py):
  KW_TRACKER_STORE_URL  PostgreSQL URL of the tracker store (required: replicas share trackers)
  KW_LOCK_STORE_URL     Redis URL of the lock store (required: replicas share conversation locks)
  KW_HOST, KW_ACTIONS_PORT  where the action server is: http://KW_HOST:KW_ACTIONS_PORT/webhook
                        (in the cluster, the balancer / the kw-backend Service)
  KW_RASA_PORT          the port Rasa listens on (all interfaces: it is a container)
  KW_VAR_DIR            where endpoints.yml is written
  KW_RASA_TOKEN         not read here: serve.py takes it from the environment
Every other argument goes to ``rasa run`` unchanged (the image's default: ``--model …``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # /app in the image: deploy/rasa/ is two down
sys.path.insert(0, str(ROOT))
from rasa_runtime import endpoints as endpoints_file  # noqa: E402 - the launcher's writer too


def endpoints(env: Mapping[str, str]) -> dict[str, object]:
    """Rasa's endpoints for these settings; refuses a replica that would keep its trackers or
    locks to itself (SQLite, in-memory locks), which would break every other replica."""
    tracker = env.get("KW_TRACKER_STORE_URL", "")
    lock = env.get("KW_LOCK_STORE_URL", "")
    if not tracker or tracker.startswith("sqlite") or not lock:
        raise SystemExit(
            "A Rasa replica needs KW_TRACKER_STORE_URL (PostgreSQL) and KW_LOCK_STORE_URL "
            "(Redis): the replicas share conversations there."
        )
    host = env.get("KW_HOST", "127.0.0.1")
    actions_port = int(env.get("KW_ACTIONS_PORT") or 5055)
    # The tracker cache's bounds, as the launcher writes them (the defaults are bot/settings.py's).
    cache = {
        "cache_max_bytes": int(env.get("KW_TRACKER_CACHE_MAX_BYTES") or 128 * 2**20),
        "cache_idle_s": float(env.get("KW_SESSION_IDLE_S") or 30 * 60.0),
    }
    return endpoints_file.endpoints(f"http://{host}:{actions_port}/webhook", tracker, lock, cache)


def write(env: Mapping[str, str]) -> Path:
    return endpoints_file.write(Path(env.get("KW_VAR_DIR", str(ROOT / "var"))), endpoints(env))


def command(env: Mapping[str, str], args: list[str], path: Path) -> list[str]:
    port = str(int(env.get("KW_RASA_PORT") or 5005))
    return [
        sys.executable,
        str(ROOT / "rasa_runtime" / "serve.py"),
        "run",
        *args,
        "--enable-api",
        "--interface",
        "0.0.0.0",
        "--port",
        port,
        "--endpoints",
        str(path),
        "--credentials",
        str(ROOT / "credentials.yml"),
    ]


def main() -> None:
    path = write(os.environ)
    cmd = command(os.environ, sys.argv[1:], path)
    os.chdir(ROOT)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
