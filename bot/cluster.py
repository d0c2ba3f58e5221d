"""The production topology on one machine: ``python -m bot run-cluster`` (``make run-cluster``).

Two of each of our processes behind HAProxy (Debian's package), all on loopback:

    users ──► HAProxy :public, :tls ──► gateway 1, gateway 2    (WebSockets: leastconn)
    gateways ──► HAProxy :rasa ──► Rasa 1, Rasa 2                (any replica, any conversation)
    Rasa ──► HAProxy :actions ──► action server 1, action server 2

Shared state lives outside the processes, so a replica can die at any time: PostgreSQL holds
Rasa's trackers and the app database, Redis holds Rasa's conversation locks and carries the
gateways' pub/sub (a helpdesk message reaches the widget whichever gateway holds its socket).
``deploy/`` has the same topology as docker compose and Kubernetes manifests.

HAProxy terminates TLS as a production entry does (KW_TLS_PORT, 8443, standing in for 443),
with a self-signed certificate made at every start (var/cluster/tls/, mode 0600), and tells the
gateways the scheme in X-Forwarded-Proto: they trust it from the balancer only
(KW_TRUSTED_PROXIES), and compare the browser's Origin with that scheme and the Host header
(bot/web/security.py), so ``https://kw.example/`` on the default port is the console's own origin.

HAProxy retries a request on another replica only when no connection was made
(``retry-on conn-failure``): a request that reached a replica which then died may have been
processed, and only the gateway can tell (it looks the message up in the tracker before it
sends it again; bot/web/rasa.py).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot import launcher
from bot.settings import Settings

#: Seconds a dead Rasa replica's conversation lock lives on in Redis. Rasa's default is 60 s;
#: a turn takes well under a second, and the next message of that conversation waits this long.
LOCK_LIFETIME_S = 15
REPLICAS = 2
#: What the self-signed certificate names. Browsers still warn (no authority signed it): it
#: shows the production path on one machine; a real certificate belongs at the real entry.
CERT_NAMES = ("localhost", "127.0.0.1", "::1")
CERT_DAYS = 30


def haproxy_bin() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise RuntimeError("HAProxy ontbreekt: draai scripts/ensure-haproxy.sh (Debian-pakket haproxy).")
    return found


@dataclass(frozen=True)
class Ports:
    """The balancer's frontends (the ports in the settings) and every replica's own."""

    public: int
    rasa: int
    actions: int
    gateways: list[int]
    rasas: list[int]
    action_servers: list[int]
    tls: int  # the public frontend's HTTPS port

    @classmethod
    def after(cls, settings: Settings) -> Ports:
        """Replica ports right after the frontends' (8081-8082, 5006-5007, 5056-5057)."""

        def follow(port: int) -> list[int]:
            return [port + i + 1 for i in range(REPLICAS)]

        return cls(
            settings.gateway_port,
            settings.rasa_port,
            settings.actions_port,
            follow(settings.gateway_port),
            follow(settings.rasa_port),
            follow(settings.actions_port),
            tls=settings.tls_port,
        )

    @classmethod
    def free(cls, settings: Settings) -> Ports:
        """Free replica ports, for a cluster beside other stacks (the fault tests)."""

        def pick() -> list[int]:
            return [launcher.free_port() for _ in range(REPLICAS)]

        return cls(
            settings.gateway_port,
            settings.rasa_port,
            settings.actions_port,
            pick(),
            pick(),
            pick(),
            tls=launcher.free_port(),
        )


def cluster_ports(settings: Settings, ports: Ports) -> list[launcher.Port]:
    """Every port ``python -m bot run-cluster`` binds, as ``launcher.check_ports`` checks them
    before anything starts: HAProxy's frontends, then each replica's own. A replica's port
    follows its frontend's (``Ports.after``), so the frontend's setting moves it too."""
    host, public = settings.host, settings.gateway_host
    found = [
        launcher.Port("de ingang (HAProxy)", "KW_GATEWAY_PORT", public, ports.public),
        launcher.Port("de HTTPS-ingang (HAProxy)", "KW_TLS_PORT", public, ports.tls),
        launcher.Port("de Rasa-ingang (HAProxy)", "KW_RASA_PORT", host, ports.rasa),
        launcher.Port("de ingang van de actieservers (HAProxy)", "KW_ACTIONS_PORT", host, ports.actions),
    ]
    for what, setting, replicas in (
        ("gateway", "KW_GATEWAY_PORT", ports.gateways),
        ("Rasa-replica", "KW_RASA_PORT", ports.rasas),
        ("actieserver", "KW_ACTIONS_PORT", ports.action_servers),
    ):
        found.extend(launcher.Port(f"{what} {i}", setting, host, port) for i, port in enumerate(replicas, 1))
    return found


def self_signed_pem(path: Path, names: Sequence[str] = CERT_NAMES, days: int = CERT_DAYS) -> Path:
    """A new key and a self-signed certificate for ``names`` in one PEM file (HAProxy's ``crt``),
    mode 0600 in a 0700 directory, replaced as a whole (never a half-written key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.replace(tmp, path)
    return path


def _servers(name: str, host: str, ports: list[int]) -> str:
    # Health checks every second; three failures take a replica out, two bring it back. A dead
    # replica refuses connections at once (and a refused connect is retried elsewhere anyway).
    return "\n".join(
        f"    server {name}{i + 1} {host}:{port} check inter 1s fall 3 rise 2" for i, port in enumerate(ports)
    )


def _private(name: str, host: str, port: int, backend: str, check: str, replicas: list[int]) -> str:
    """A loopback frontend and its round-robin backend of replicas."""
    return f"""frontend {name}
    bind {host}:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET {check}
    http-check expect status 200
{_servers(name, host, replicas)}
"""


def haproxy_config(settings: Settings, ports: Ports, cert: Path) -> str:
    host = settings.host
    public_host = settings.gateway_host
    return f"""# Written by bot/cluster.py for this run; deploy/ has the production equivalent.
global
    maxconn 4096
    ssl-default-bind-options ssl-min-ver TLSv1.2
    # Every request, with its replica, timings and retries (logs/haproxy.log): a turn that
    # hangs after a fault shows where it hangs.
    log stderr format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # An open WebSocket (widget, console) is a tunnel: it may stay quiet this long between
    # the gateway's heartbeats.
    timeout tunnel 1h
    timeout http-request 10s
    # A replica busy with a burst answers its health check late, not never.
    timeout check 3s
    timeout queue 30s
    # Only a failed connect is retried elsewhere: nothing can have been processed.
    retries 3
    retry-on conn-failure
    option redispatch

frontend public
    bind {public_host}:{ports.public}
    # TLS ends here, as at a production entry; the gateways speak plain HTTP on loopback.
    bind {public_host}:{ports.tls} ssl crt {cert} alpn h2,http/1.1
    # The client's own X-Forwarded-For is a forgery waiting to happen: the gateways trust this
    # balancer's, so it is the only one they get.
    http-request del-header X-Forwarded-For
    option forwardfor
    # The scheme the browser used: the gateways compare its Origin with it and the Host header
    # (a browser leaves :443 out of both), and mark cookies Secure and send HSTS on https.
    http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
    http-request set-header X-Forwarded-Proto http if !{{ ssl_fc }}
    default_backend gateways

backend gateways
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
{_servers("gateway", host, ports.gateways)}

# "/" needs no token and answers once Rasa runs; a replica still loading its model does
# not listen yet.
{_private("rasa", host, ports.rasa, "rasa_replicas", "/", ports.rasas)}
{_private("actions", host, ports.actions, "action_servers", "/health", ports.action_servers)}
"""


class Cluster(launcher.Stack):
    """Two action servers, two Rasa replicas, two gateways and HAProxy, supervised like
    ``make run``'s stack (a crashed child comes back with backoff; SIGTERM stops them all)."""

    def __init__(self, settings: Settings, model: Path, ports: Ports | None = None):
        # One worker per replica: the balancer spreads conversations over the replicas and
        # Redis orders each conversation's turns, whichever replica takes them.
        super().__init__(replace(settings, rasa_workers=1), model)
        self.ports = ports or Ports.after(settings)

    def build(self) -> None:
        s, ports = self.settings, self.ports
        if not s.lock_store_url or s.tracker_store_url.startswith("sqlite"):
            raise RuntimeError(
                "Het cluster heeft PostgreSQL (KW_TRACKER_STORE_URL) en Redis "
                "(KW_LOCK_STORE_URL) nodig: replica's delen daar hun gesprekken."
            )
        # Rasa's action endpoint is the balancer (settings.actions_port is its frontend).
        endpoints = launcher.write_endpoints(s)
        cluster_dir = s.var_dir / "cluster"
        cluster_dir.mkdir(parents=True, exist_ok=True)
        config = cluster_dir / "haproxy.cfg"
        cert = self_signed_pem(cluster_dir / "tls" / "haproxy.pem")
        config.write_text(haproxy_config(s, ports, cert), encoding="utf-8")
        services = (
            self._replicas("actieserver", ports.action_servers, "/health", launcher.actions_command)
            + self._replicas(
                "rasa",
                ports.rasas,
                f"/status?token={s.rasa_token}",
                lambda port: launcher.rasa_command(s, self.model, endpoints, port),
                lambda port: {"TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_S)},
            )
            # Ready when it reaches Rasa through the balancer (asked directly: a forwarded
            # /readyz needs the operations token). It believes HAProxy's X-Forwarded-For.
            + self._replicas(
                "gateway",
                ports.gateways,
                "/readyz",
                lambda port: [sys.executable, "-m", "bot.web"],
                lambda port: {
                    "KW_GATEWAY_PORT": str(port),
                    "KW_GATEWAY_HOST": s.host,
                    "KW_TRUSTED_PROXIES": _trusted(s),
                },
            )
        )
        services.append(
            launcher.Service("haproxy", [haproxy_bin(), "-db", "-f", str(config)], f"{s.gateway_url}/healthz")
        )
        self.services = services

    def _replicas(
        self,
        name: str,
        ports: list[int],
        ready_path: str,
        command: Callable[[int], list[str]],
        env: Callable[[int], dict[str, str]] = lambda port: {},
    ) -> list[launcher.Service]:
        return [
            launcher.Service(
                f"{name}-{i}", command(port), f"http://{self.settings.host}:{port}{ready_path}", env=env(port)
            )
            for i, port in enumerate(ports, 1)
        ]


def _trusted(settings: Settings) -> str:
    return ",".join(dict.fromkeys([*settings.trusted_proxies, "127.0.0.1/32"]))


#: What ``make run-cluster`` uses for a store the environment does not name (KW_DATABASE_URL,
#: KW_TRACKER_STORE_URL, KW_LOCK_STORE_URL, KW_PUBSUB_URL win): the machine's PostgreSQL and
#: Redis, a database per store.
DEFAULTS = {
    "KW_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/kw_cluster_app",
    "KW_TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1:5432/kw_cluster_tracker",
    "KW_LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
    "KW_PUBSUB_URL": "redis://127.0.0.1:6379/0",
}


def ensure_databases(settings: Settings) -> None:
    """Create the PostgreSQL databases of the app and the tracker store when missing."""
    import psycopg2
    from sqlalchemy.engine import make_url

    for url in (settings.database_url, settings.tracker_store_url):
        parsed = make_url(url)
        if not parsed.get_backend_name().startswith("postgresql"):
            continue
        admin = parsed.set(drivername="postgresql", database="postgres")
        conn = psycopg2.connect(admin.render_as_string(hide_password=False), connect_timeout=5)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{parsed.database}"')
        finally:
            conn.close()
