"""Every setting of the assistant, read from environment variables in this one module.

Defaults are safe for the demo run on one machine: everything binds 127.0.0.1, data lives in
SQLite files under ``var/``, and secrets are generated once per machine and kept in
``var/secrets.json`` (mode 0600). ``KW_ENV=production`` turns generated secrets and demo
accounts into start-up errors instead.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _number(env: Mapping[str, str], name: str, default, kind=int):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int)


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float)


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).upper()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


#: Shortest secret production accepts (bytes): HMAC and JWT keys below 256 bits are guessable.
MIN_SECRET_BYTES = 32


def _write_private(path: Path, text: str) -> None:
    """Write `path` atomically, readable by its owner only from the first byte on."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _secret(
    env: Mapping[str, str], name: str, var_dir: Path, production: bool, generate=lambda: secrets.token_urlsafe(32)
) -> str:
    """A secret from the environment, or (demo only) one generated and kept under var/."""
    value = env.get(name, "")
    if value:
        if production and len(value.encode("utf-8")) < MIN_SECRET_BYTES:
            raise SettingsError(f"{name} must be at least {MIN_SECRET_BYTES} bytes when KW_ENV=production")
        return value
    if production:
        raise SettingsError(f"{name} must be set when KW_ENV=production")
    path = var_dir / "secrets.json"
    stored = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    if name not in stored:
        stored[name] = generate()
        var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path, json.dumps(stored, indent=2))
    return stored[name]


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, checked here so a typo fails at start."""
    import ipaddress

    items = _list(env, name, ())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not an IP address or network") from None
    return items


#: How the helpdesk's mail reaches the SMTP server (KW_SMTP_SECURITY).
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class MailSettings:
    """The helpdesk's e-mail (bot/mail, bot/handoff/outbox.py): off while ``host`` is empty."""

    #: The SMTP server; empty: no mail (the console offers no e-mail answer, nothing is queued).
    host: str = ""
    port: int = 587
    #: starttls (submission, port 587), tls (implicit TLS, port 465) or none (a local catcher only).
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    #: Seconds for connecting and for each SMTP command.
    timeout_s: float = 20.0
    #: A CA bundle (PEM) for the server's certificate on top of the system's; empty: the system's.
    ca_file: str = ""
    #: The sender address, and the domain of every Message-ID.
    sender: str = "helpdesk@kansrijkewijk.example"
    #: The helpdesk's name in the mails' text and From header.
    helpdesk_name: str = "Helpdesk SPUK Kansrijke Wijk"
    #: The team mailbox that gets the notifications; empty: no notifications.
    team_mailbox: str = ""
    #: Notify the team mailbox of every new ticket.
    notify_new: bool = True
    #: Notify it once when a ticket waits this many minutes inside opening hours; 0: never.
    notify_wait_min: int = 60
    #: Sending attempts of one mail before it counts as failed; the first retry after
    #: ``retry_s`` seconds, doubling up to ``retry_max_s``.
    max_attempts: int = 8
    retry_s: float = 30.0
    retry_max_s: float = 3600.0
    #: Seconds between the worker's looks at the outbox for mails other processes queued.
    poll_s: float = 5.0
    #: The address staff open the console at (the notification's link); empty: the gateway's.
    public_url: str = ""
    #: ``python -m bot run`` without KW_SMTP_HOST (a demo): the port of its local mail catcher,
    #: which writes the demo's mails to var/mail/ (bot/mail/catcher.py).
    catcher_port: int = 8025

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class Settings:
    env: str
    root: Path
    var_dir: Path
    # Network: Rasa and the action server are never public; only the gateway is.
    host: str
    rasa_port: int
    #: Rasa worker processes of one Rasa server, on rasa_port and the ports after it
    #: (rasa_runtime/workers.py); the gateway picks one per conversation.
    rasa_workers: int
    actions_port: int
    gateway_host: str
    gateway_port: int
    #: make run-cluster's HTTPS port: HAProxy terminates TLS there (bot/cluster.py).
    tls_port: int
    rasa_token: str
    # Storage
    database_url: str
    tracker_store_url: str
    lock_store_url: str
    db_timeout_s: float
    # Several gateways (a cluster): the Redis whose pub/sub carries pushes to widgets and console
    # changes between them; empty: this process only. The prefix of its channel.
    pubsub_url: str
    pubsub_prefix: str
    # NLU
    spacy_model_dir: Path
    rasa_venv: Path
    # Security for status lookups
    status_max_failures: int
    status_failure_window_s: int
    status_lockout_s: int
    # Portal identity (JWT) and back office
    portal_jwt_secret: str
    portal_jwt_audience: str
    portal_jwt_issuer: str
    api_token: str
    cookie_secret: str
    # Fernet keys for helpdesk contact details, newest first (older ones only decrypt: rotation).
    contact_keys: tuple[str, ...]
    # Bearer token for /metrics and /readyz from outside loopback.
    ops_token: str
    allowed_origins: tuple[str, ...]
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For / -Proto the gateway believes.
    trusted_proxies: tuple[str, ...]
    # Gateway limits
    max_message_chars: int
    rate_limit_per_minute: int
    connect_rate_per_minute: int
    # Messages one gateway has at Rasa at once (bot/web/rasa.py).
    rasa_max_in_flight: int
    # Status lookups: failures per aanvraagnummer, and over all numbers, within the window.
    status_number_max_failures: int
    status_global_max_failures: int
    # The longest a lookup waits while the per-number or global throttle slows lookups down.
    status_throttle_max_delay_s: float
    # Key of the HMAC over the identity (sender, client id, portal scope) the gateway passes to
    # Rasa; actions trust that metadata only when it verifies (bot/core/identity.py).
    identity_key: str
    # Open sockets (widget and console WebSockets) per client address and in all, per gateway;
    # seconds a client may take to send a request's headers.
    max_sockets_per_client: int
    max_sockets: int
    header_timeout_s: float
    # Helpdesk staff sessions
    staff_idle_timeout_s: int
    staff_absolute_timeout_s: int
    # Conversation data
    retention_days: int
    purge_interval_s: int
    # Helpdesk
    helpdesk_hours: str
    timezone: str
    # Helpdesk console: login attempts per client address per minute (on top of the per-account
    # lockout); seconds between polls for changes other processes made, while a console is open.
    helpdesk_login_rate_per_minute: int
    helpdesk_poll_s: float
    # Portal tokens signed with a key pair: the portal's public key (PEM); empty: the shared secret.
    portal_jwt_public_key: str
    # The demo page's portal login (never in production).
    demo_portal: bool
    log_level: str
    # Logs of every process (docs/operations.md, "Logs"): "json" lines or readable "text".
    log_format: str
    # Traces (docs/operations.md, "Tracing"): the OTLP/HTTP collector (http://host:4318) and/or
    # a file of JSON lines, one span a line; both empty: tracing off.
    otlp_endpoint: str
    trace_file: str
    # Rasa starts a new session (slots kept) after this many user turns, so a turn's cost does
    # not grow with the conversation (rasa_runtime/serve.py); 0 turns it off.
    session_max_turns: int
    # Memory bounds of the per-process caches (bot/core/bounded.py), as estimated bytes and idle
    # seconds; defaults derived from the Kubernetes limits (deploy/k8s, docs/performance.md).
    # The gateway's conversation states with their recent replies; a conversation unused this
    # long leaves both the gateway's and Rasa's cache (its next message reads Rasa's tracker).
    session_cache_max_bytes: int
    session_idle_s: float
    # Each rate limiter's buckets and the helpdesk login throttle, each.
    limiter_max_bytes: int
    # Rasa's trackers of active conversations, per Rasa process (rasa_runtime/stores.py).
    tracker_cache_max_bytes: int
    # The helpdesk's e-mail (KW_SMTP_*, KW_HELPDESK_MAILBOX, …): answers and notifications.
    mail: MailSettings = field(default_factory=MailSettings)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        """One URL per Rasa worker; the first is ``rasa_url``."""
        return [f"http://{self.host}:{self.rasa_port + i}" for i in range(self.rasa_workers)]

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}/webhook"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redis_url(env: Mapping[str, str], name: str) -> str:
    """A Redis URL or empty, checked here so a typo fails at start, not at the first push."""
    value = env.get(name, "").strip()
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{name} must be a redis://, rediss:// or unix:// URL")
    return value


def _origins(env: Mapping[str, str], gateway_port: int, production: bool) -> tuple[str, ...]:
    """Each origin checked and written one way (bot/core/origins.py: the default port left out),
    so ``https://kw.example:443`` and ``https://kw.example`` are the same site."""
    from bot.core import origins as parsed

    default = () if production else (f"http://127.0.0.1:{gateway_port}", f"http://localhost:{gateway_port}")
    result = []
    for item in _list(env, "KW_ALLOWED_ORIGINS", default):
        origin = parsed.parse(item)
        if origin is None:
            raise SettingsError(f"KW_ALLOWED_ORIGINS: {item!r} is not an origin (http(s)://host[:port])")
        if production and parsed.is_local(origin):
            raise SettingsError(f"KW_ALLOWED_ORIGINS: no localhost origins in production ({item})")
        result.append(str(origin))
    return tuple(dict.fromkeys(result))


def _check_fernet_keys(keys: tuple[str, ...]) -> None:
    import base64
    import binascii

    for key in keys:
        try:
            ok = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (binascii.Error, ValueError, UnicodeEncodeError):
            ok = False
        if not ok:
            raise SettingsError("KW_CONTACT_KEY: each key must be a Fernet key (urlsafe base64 of 32 bytes)")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "ja", "yes", "on"):
        return True
    if raw in ("0", "false", "nee", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


def _mail(env: Mapping[str, str], production: bool, gateway_url: str) -> MailSettings:
    """KW_SMTP_* and the helpdesk's mail settings; production refuses mail without TLS."""
    host = env.get("KW_SMTP_HOST", "").strip()
    security = (env.get("KW_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY:
        raise SettingsError(f"KW_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, got {security!r}")
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    mailbox = env.get("KW_HELPDESK_MAILBOX", "").strip()
    sender = env.get("KW_SMTP_FROM", "").strip()
    for name, value in (("KW_SMTP_FROM", sender), ("KW_HELPDESK_MAILBOX", mailbox)):
        if value and not _EMAIL_SETTING_RE.match(value):
            raise SettingsError(f"{name} must be one e-mail address, got {value!r}")
    if mailbox and not host:
        raise SettingsError("KW_HELPDESK_MAILBOX needs KW_SMTP_HOST (the notifications are mail)")
    if production and host:
        if security == "none":
            raise SettingsError("KW_SMTP_SECURITY=none: production sends mail over TLS only (starttls or tls)")
        if not sender:
            raise SettingsError("KW_SMTP_FROM must be set when KW_ENV=production and KW_SMTP_HOST is")
    public_url = env.get("KW_PUBLIC_URL", "").strip().rstrip("/")
    if public_url and not public_url.startswith(("http://", "https://")):
        raise SettingsError("KW_PUBLIC_URL must be an http(s):// URL")
    defaults = MailSettings()
    mail = MailSettings(
        host=host,
        port=_positive_int(env, "KW_SMTP_PORT", default_port),
        security=security,
        username=env.get("KW_SMTP_USERNAME", ""),
        password=env.get("KW_SMTP_PASSWORD", ""),
        timeout_s=_float(env, "KW_SMTP_TIMEOUT_S", defaults.timeout_s),
        ca_file=env.get("KW_SMTP_CA_FILE", "").strip(),
        sender=sender or defaults.sender,
        helpdesk_name=" ".join((env.get("KW_HELPDESK_NAME") or defaults.helpdesk_name).split())[:80],
        team_mailbox=mailbox,
        notify_new=_bool(env, "KW_HELPDESK_NOTIFY_NEW", defaults.notify_new),
        notify_wait_min=_int(env, "KW_HELPDESK_NOTIFY_WAIT_MIN", defaults.notify_wait_min),
        max_attempts=_positive_int(env, "KW_SMTP_MAX_ATTEMPTS", defaults.max_attempts),
        retry_s=_float(env, "KW_SMTP_RETRY_S", defaults.retry_s),
        retry_max_s=_float(env, "KW_SMTP_RETRY_MAX_S", defaults.retry_max_s),
        poll_s=_float(env, "KW_SMTP_POLL_S", defaults.poll_s),
        public_url=public_url or gateway_url,
        catcher_port=_positive_int(env, "KW_SMTP_CATCHER_PORT", defaults.catcher_port),
    )
    if production and public_url == "" and mailbox:
        raise SettingsError("KW_PUBLIC_URL must be set when KW_ENV=production and KW_HELPDESK_MAILBOX is")
    if mail.timeout_s <= 0 or mail.retry_s <= 0 or mail.poll_s <= 0:
        raise SettingsError("KW_SMTP_TIMEOUT_S, KW_SMTP_RETRY_S and KW_SMTP_POLL_S must be more than 0")
    return mail


_EMAIL_SETTING_RE = re.compile(r"^[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}$")


def _otlp_endpoint(env: Mapping[str, str]) -> str:
    """KW_OTLP_ENDPOINT: an http(s) URL (the collector's OTLP/HTTP receiver) or empty."""
    value = env.get("KW_OTLP_ENDPOINT", "").strip()
    if value and not value.startswith(("http://", "https://")):
        raise SettingsError("KW_OTLP_ENDPOINT must be an http:// or https:// URL (OTLP over HTTP, e.g. port 4318)")
    return value


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    kind = env.get("KW_ENV", "demo")
    if kind not in ("demo", "production"):
        raise SettingsError(f"KW_ENV must be 'demo' or 'production', got {kind!r}")
    production = kind == "production"
    var_dir = Path(env.get("KW_VAR_DIR", str(ROOT / "var"))).resolve()
    gateway_port = _int(env, "KW_GATEWAY_PORT", 8080)
    gateway_host = env.get("KW_GATEWAY_HOST", "127.0.0.1")
    if not production and not _loopback(gateway_host):
        raise SettingsError(
            f"KW_GATEWAY_HOST={gateway_host!r}: a demo (KW_ENV=demo) only listens on loopback; "
            "set KW_ENV=production with real secrets to serve a network"
        )
    contact_keys = _list(env, "KW_CONTACT_KEY", ())
    if not contact_keys:
        contact_keys = (_secret(env, "KW_CONTACT_KEY", var_dir, production, _fernet_key),)
    _check_fernet_keys(contact_keys)
    return Settings(
        env=kind,
        root=ROOT,
        var_dir=var_dir,
        host=env.get("KW_HOST", "127.0.0.1"),
        rasa_port=_int(env, "KW_RASA_PORT", 5005),
        # One Rasa process uses one core (its Python runs on one event loop), so a second worker
        # pays only from the second core on. A deployment scales by replicas behind a balancer
        # instead (deploy/): there the gateway's one Rasa URL is the balancer's.
        rasa_workers=_positive_int(env, "KW_RASA_WORKERS", 1 if production else min(2, os.cpu_count() or 1)),
        actions_port=_int(env, "KW_ACTIONS_PORT", 5055),
        gateway_host=gateway_host,
        gateway_port=gateway_port,
        tls_port=_int(env, "KW_TLS_PORT", 8443),
        rasa_token=_secret(env, "KW_RASA_TOKEN", var_dir, production),
        database_url=env.get("KW_DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}"),
        tracker_store_url=env.get("KW_TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.db'}"),
        lock_store_url=env.get("KW_LOCK_STORE_URL", ""),
        db_timeout_s=_float(env, "KW_DB_TIMEOUT_S", 1.5),
        pubsub_url=_redis_url(env, "KW_PUBSUB_URL"),
        pubsub_prefix=env.get("KW_PUBSUB_PREFIX") or "kw:",
        spacy_model_dir=Path(env.get("KW_SPACY_MODEL_DIR", str(ROOT / "var" / "spacy" / "nl"))),
        rasa_venv=Path(env.get("KW_RASA_VENV", str(ROOT / ".venv-rasa"))),
        status_max_failures=_int(env, "KW_STATUS_MAX_FAILURES", 5),
        status_failure_window_s=_int(env, "KW_STATUS_FAILURE_WINDOW_S", 3600),
        status_lockout_s=_int(env, "KW_STATUS_LOCKOUT_S", 3600),
        portal_jwt_secret=_secret(env, "KW_PORTAL_JWT_SECRET", var_dir, production),
        portal_jwt_audience=env.get("KW_PORTAL_JWT_AUDIENCE", "kansrijke-wijk-assistent"),
        portal_jwt_issuer=env.get("KW_PORTAL_JWT_ISSUER", "aanvragersportaal"),
        api_token=_secret(env, "KW_API_TOKEN", var_dir, production),
        cookie_secret=_secret(env, "KW_COOKIE_SECRET", var_dir, production),
        contact_keys=contact_keys,
        ops_token=_secret(env, "KW_OPS_TOKEN", var_dir, production),
        allowed_origins=_origins(env, gateway_port, production),
        trusted_proxies=_networks(env, "KW_TRUSTED_PROXIES"),
        max_message_chars=_int(env, "KW_MAX_MESSAGE_CHARS", 1000),
        rate_limit_per_minute=_int(env, "KW_RATE_LIMIT_PER_MINUTE", 30),
        connect_rate_per_minute=_int(env, "KW_CONNECT_RATE_PER_MINUTE", 60),
        rasa_max_in_flight=_positive_int(env, "KW_RASA_MAX_IN_FLIGHT", 6),
        status_number_max_failures=_int(env, "KW_STATUS_NUMBER_MAX_FAILURES", 10),
        status_global_max_failures=_int(env, "KW_STATUS_GLOBAL_MAX_FAILURES", 200),
        status_throttle_max_delay_s=_float(env, "KW_STATUS_THROTTLE_MAX_DELAY_S", 8.0),
        identity_key=_secret(env, "KW_IDENTITY_KEY", var_dir, production),
        max_sockets_per_client=_positive_int(env, "KW_MAX_SOCKETS_PER_CLIENT", 20),
        max_sockets=_positive_int(env, "KW_MAX_SOCKETS", 2000),
        header_timeout_s=_float(env, "KW_HEADER_TIMEOUT_S", 10.0),
        staff_idle_timeout_s=_int(env, "KW_STAFF_IDLE_TIMEOUT_S", 30 * 60),
        staff_absolute_timeout_s=_int(env, "KW_STAFF_ABSOLUTE_TIMEOUT_S", 12 * 3600),
        retention_days=_int(env, "KW_RETENTION_DAYS", 30),
        purge_interval_s=_int(env, "KW_PURGE_INTERVAL_S", 24 * 3600),
        helpdesk_hours=env.get("KW_HELPDESK_HOURS", "ma-vr 09:00-17:00"),
        timezone=env.get("KW_TIMEZONE", "Europe/Amsterdam"),
        helpdesk_login_rate_per_minute=_int(env, "KW_HELPDESK_LOGIN_RATE_PER_MINUTE", 20),
        helpdesk_poll_s=_float(env, "KW_HELPDESK_POLL_S", 2.0),
        portal_jwt_public_key=env.get("KW_PORTAL_JWT_PUBLIC_KEY", ""),
        demo_portal=not production and env.get("KW_DEMO_PORTAL", "1") not in ("0", "false", "nee"),
        log_level=_choice(env, "KW_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        log_format=_choice(env, "KW_LOG_FORMAT", "JSON" if production else "TEXT", ("JSON", "TEXT")).lower(),
        otlp_endpoint=_otlp_endpoint(env),
        trace_file=env.get("KW_TRACE_FILE", "").strip(),
        session_max_turns=_int(env, "KW_SESSION_MAX_TURNS", 25),
        mail=_mail(env, production, f"http://{gateway_host}:{gateway_port}"),
        session_cache_max_bytes=_positive_int(env, "KW_SESSION_CACHE_MAX_BYTES", 64 * 2**20),
        session_idle_s=_float(env, "KW_SESSION_IDLE_S", 30 * 60.0),
        limiter_max_bytes=_positive_int(env, "KW_LIMITER_MAX_BYTES", 4 * 2**20),
        tracker_cache_max_bytes=_positive_int(env, "KW_TRACKER_CACHE_MAX_BYTES", 128 * 2**20),
    )


def dev_model() -> Path | None:
    """KW_DEV_MODEL: a trained model to serve instead of the one for the current training data.

    For development only: while one person edits data/ or domain.yml, others can run the Rasa
    tests against the last trained model instead of each starting a training. Read from this
    process's environment (isolated test environments drop the other KW_* settings).
    """
    raw = os.environ.get("KW_DEV_MODEL", "").strip()
    return Path(raw).resolve() if raw else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load()
