"""deploy/: the production topology as docker compose and Kubernetes manifests (deploy/README.md).

Checked without Docker or a cluster: the files parse; the topology is two of each process with
health checks; every KW_* name is a real setting; secrets stay out of the ConfigMap and out of
Rasa; each process's settings load with KW_ENV=production once the placeholders are replaced
(and are refused with them); HAProxy checks its backends; the ports agree everywhere; the Rasa
image's endpoints.yml is the launcher's. (`docker compose config` is not here: the development
machines have no compose plugin.)
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import re
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

from bot import cluster, launcher, migrations
from bot.settings import MIN_SECRET_BYTES, SettingsError, load
from tests.fixtures.text import match

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SETTINGS_SOURCE = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")

PORTS = {"gateway": 8080, "rasa": 5005, "actions": 5055}
KW_NAME = re.compile(r"\bKW_[A-Z0-9_]*[A-Z0-9]\b")
#: Settings deploy/README.md proposes (separate Rasa and action-server URLs); no configuration
#: file may use them while bot/settings.py does not read them.
PROPOSED = {"KW_RASA_URL", "KW_ACTIONS_URL"}
#: Store URLs: they may carry a password, so they are kept with the secrets.
STORE_URLS = {"KW_DATABASE_URL", "KW_TRACKER_STORE_URL", "KW_LOCK_STORE_URL", "KW_PUBSUB_URL"}
#: What Rasa gets from the secrets, and nothing more.
RASA_SECRETS = {"KW_RASA_TOKEN", "KW_TRACKER_STORE_URL", "KW_LOCK_STORE_URL"}
PASSWORD_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


# -- reading deploy/ ------------------------------------------------------------------------------


def settings_names() -> set:
    """Every KW_* name bot/settings.py reads (a string literal in its source)."""
    return set(re.findall(r'"(KW_[A-Z0-9_]+)"', SETTINGS_SOURCE))


def secret_names() -> set:
    """The settings production requires from the environment: every ``_secret(env, NAME, …)``."""
    names = set(re.findall(r'_secret\(\s*env,\s*"(KW_[A-Z0-9_]+)"', SETTINGS_SOURCE))
    assert {"KW_RASA_TOKEN", "KW_CONTACT_KEY"} <= names  # the pattern still finds them
    return names


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def k8s_objects(kind: str) -> dict[str, dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in docs(path):
            if doc.get("kind") == kind:
                found[doc["metadata"]["name"]] = doc
    return found


def compose() -> dict:
    return docs(DEPLOY / "docker-compose.yml")[0]


def env_file(path: Path) -> dict[str, str]:
    """A dotenv file as docker compose reads it (KEY=VALUE lines, # comments)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in variables and variables[name] != "":
            return variables[name]
        if op == ":?":
            raise AssertionError(f"${{{name}}} is required: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


def compose_env(service: str) -> dict[str, str]:
    """The environment compose gives a service: its env_file (compose.env, from the example),
    then its interpolated `environment`."""
    svc = compose()["services"][service]
    example = env_file(DEPLOY / "compose.env.example")
    env = dict(example) if svc.get("env_file") else {}
    for key, value in (svc.get("environment") or {}).items():
        env[key] = interpolate(value, example)
    return env


def k8s_env(deployment: str, container: str) -> dict[str, str]:
    """The environment of a container: envFrom the ConfigMap/Secret, then env (secretKeyRef
    resolved from the Secret's placeholders)."""
    configmaps = k8s_objects("ConfigMap")
    secrets_ = k8s_objects("Secret")
    spec = pod_spec(k8s_objects("Deployment")[deployment])
    c = next(c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == container)
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
        if "secretRef" in source:
            env.update(secrets_[source["secretRef"]["name"]]["stringData"])
    for item in c.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets_[ref["name"]]["stringData"][ref["key"]]
    return env


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def real_secrets(env: dict[str, str]) -> dict[str, str]:
    """The placeholders replaced by values production accepts."""
    env = dict(env)
    for name in secret_names():
        if name in env:
            env[name] = (
                base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
                if name == "KW_CONTACT_KEY"
                else secrets.token_urlsafe(32)
            )
    return env


def haproxy_sections() -> dict[str, list[str]]:
    """haproxy.cfg as {"frontend public": [lines], "backend gateways": [...], …}, comments out."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in (DEPLOY / "haproxy" / "haproxy.cfg").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw[0].isspace():
            current = line.strip()
            sections[current] = []
        else:
            assert current is not None, f"an indented line before any section: {raw!r}"
            sections[current].append(line.strip())
    return sections


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


entrypoint = load_module(DEPLOY / "rasa" / "entrypoint.py", "deploy_rasa_entrypoint")


# -- the files ------------------------------------------------------------------------------------


def test_every_yaml_file_parses_and_the_topology_is_complete():
    files = yaml_files()
    assert DEPLOY / "docker-compose.yml" in files
    for path in files:
        parsed = docs(path)
        assert parsed, f"{path} is empty"
        assert all(isinstance(d, dict) for d in parsed), path
    kinds = {
        kind: set(k8s_objects(kind))
        for kind in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Ingress", "Job")
    }
    assert kinds["Deployment"] == {"kw-gateway", "kw-rasa", "kw-actions"}
    assert {"kw-gateway", "kw-backend"} <= kinds["Service"]
    assert kinds["Job"] == {"kw-migrate"} and all(kinds.values())
    listed = set(docs(K8S / "kustomization.yaml")[0]["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_each_deployment_runs_two_replicas_with_probes_and_resources():
    for name, deployment in k8s_objects("Deployment").items():
        assert deployment["spec"]["replicas"] == 2, name
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
        spec = pod_spec(deployment)
        for c in spec["containers"]:
            assert "readinessProbe" in c and "livenessProbe" in c, f"{name}/{c['name']}"
        for c in spec["containers"] + spec.get("initContainers", []):
            assert {"requests", "limits"} <= set(c["resources"]), f"{name}/{c['name']}"
    rasa = pod_spec(k8s_objects("Deployment")["kw-rasa"])["containers"][0]
    # Derived from `make soak` (docs/performance.md, "Memory over time").
    assert rasa["resources"]["requests"]["memory"] == "1Gi"
    assert rasa["resources"]["limits"]["memory"] == "1536Mi"


def test_compose_runs_two_of_each_with_healthchecks_after_the_migration():
    services = compose()["services"]
    for name in ("gateway", "rasa", "actions"):
        assert services[name]["deploy"]["replicas"] == 2, name
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert services["migrate"]["command"] == ["python", "-m", "bot", "db-upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("gateway", "actions"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["haproxy"]["depends_on"] == {
        "rasa": {"condition": "service_healthy"},
        "actions": {"condition": "service_healthy"},
    }
    # The balancer is the only public entry.
    assert [name for name, svc in services.items() if "ports" in svc] == ["haproxy"]
    assert services["haproxy"]["ports"] == ["${PUBLIC_PORT:-80}:8080"]
    assert compose()["networks"]["backend"]["internal"] is True


def test_the_migration_job_runs_db_upgrade_and_the_pods_wait_for_it():
    job = k8s_objects("Job")["kw-migrate"]
    assert pod_spec(job)["containers"][0]["command"] == ["python", "-m", "bot", "db-upgrade"]
    for name in ("kw-gateway", "kw-actions"):
        init = pod_spec(k8s_objects("Deployment")[name])["initContainers"]
        assert init[0]["command"][:2] == ["python", "deploy/app/wait_for_migrations.py"], name


# -- settings -------------------------------------------------------------------------------------


def test_every_kw_name_in_deploy_is_a_setting():
    known = settings_names()
    assert {"KW_HOST", "KW_TRUSTED_PROXIES", "KW_CONTACT_KEY", "KW_PUBSUB_URL"} <= known
    seen = set()
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        names = set(KW_NAME.findall(path.read_text(encoding="utf-8")))
        seen |= names
        allowed = known | (PROPOSED if path.name == "README.md" else set())
        assert names <= allowed, f"{path.relative_to(ROOT)}: not read in bot/settings.py: {sorted(names - allowed)}"
    assert secret_names() <= seen  # the scan found the names it should


def test_no_secret_in_the_configmap_or_in_plain_compose_environment():
    hidden = secret_names() | STORE_URLS
    for name, configmap in k8s_objects("ConfigMap").items():
        assert not set(configmap["data"]) & hidden, name
        for key, value in configmap["data"].items():
            assert not PASSWORD_IN_URL.search(str(value)), f"{name}: {key} carries a password"
    assert set(k8s_objects("Secret")["kw-secrets"]["stringData"]) == hidden
    # compose: secrets come from compose.env; a service that gets one by name (Rasa) takes it
    # from there by interpolation, never as a literal in docker-compose.yml.
    for name, svc in compose()["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if key in hidden or "PASSWORD" in key:
                assert str(value).startswith("${" + key), f"{name}: {key} written into docker-compose.yml"
            assert not PASSWORD_IN_URL.search(str(value)), f"{name}: {key}"
    assert set(env_file(DEPLOY / "compose.env.example")) >= hidden


def test_rasa_gets_only_its_token_and_the_two_stores():
    spec = pod_spec(k8s_objects("Deployment")["kw-rasa"])
    container = spec["containers"][0]
    assert not any("secretRef" in source for source in container.get("envFrom", []))
    refs = {item["valueFrom"]["secretKeyRef"]["key"] for item in container["env"] if "valueFrom" in item}
    assert refs == RASA_SECRETS
    rasa = compose()["services"]["rasa"]
    assert "env_file" not in rasa
    assert {k for k in rasa["environment"] if k in secret_names() | STORE_URLS} == RASA_SECRETS
    # A replica killed mid-turn frees its conversation's lock quickly.
    assert rasa["environment"]["TICKET_LOCK_LIFETIME"] == "15"
    assert k8s_env("kw-rasa", "rasa")["TICKET_LOCK_LIFETIME"] == "15"
    assert str(cluster.LOCK_LIFETIME_S) == "15"


@pytest.mark.parametrize(
    "source",
    [
        ("compose", "gateway"),
        ("compose", "actions"),
        ("compose", "migrate"),
        ("k8s", "kw-gateway/gateway"),
        ("k8s", "kw-actions/actions"),
        ("k8s", "kw-gateway/wait-for-migrations"),
    ],
)
def test_production_settings_load_once_the_placeholders_are_replaced(source, tmp_path):
    kind, where = source
    env = compose_env(where) if kind == "compose" else k8s_env(*where.split("/"))
    env["KW_VAR_DIR"] = str(tmp_path)
    assert env["KW_ENV"] == "production"
    # The placeholders are refused: none can go live by accident.
    with pytest.raises(SettingsError):
        load(env)
    for name in secret_names():
        assert len(env[name].encode()) < MIN_SECRET_BYTES, f"{name}: the placeholder must be refused"
    settings = load(real_secrets(env))
    assert settings.production
    assert (settings.gateway_port, settings.rasa_port, settings.actions_port) == (8080, 5005, 5055)
    assert settings.host == "kw-backend"
    assert settings.allowed_origins
    if "gateway" in where:  # the one process behind the balancer
        assert settings.trusted_proxies and settings.gateway_host == "0.0.0.0"
    assert settings.database_url.startswith("postgresql://")
    assert settings.tracker_store_url.startswith("postgresql://")
    assert settings.lock_store_url.startswith("redis://")
    assert settings.pubsub_url.startswith("redis://")  # the gateways share live events


def test_the_gateways_trust_only_the_balancers_network():
    edge = compose()["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert compose_env("gateway")["KW_TRUSTED_PROXIES"] == edge
    gateway = compose()["services"]["gateway"]
    assert set(gateway["networks"]) == {"edge", "backend"}
    # HAProxy reaches the gateways through an alias that exists on the edge network only.
    assert gateway["networks"]["edge"]["aliases"] == ["gateway-edge"]
    assert {name for name, svc in compose()["services"].items() if "edge" in (svc.get("networks") or [])} == {
        "gateway",
        "haproxy",
    }
    for value in k8s_objects("ConfigMap")["kw-settings"]["data"]["KW_TRUSTED_PROXIES"].split(","):
        ipaddress.ip_network(value, strict=False)


# -- HAProxy --------------------------------------------------------------------------------------


def servers(lines: list[str]) -> list[tuple]:
    """(count, host, port, line) of every server / server-template line."""
    found = []
    for line in lines:
        words = line.split()
        if words[0] == "server":
            host, port = words[2].rsplit(":", 1)
            found.append((1, host, int(port), line))
        elif words[0] == "server-template":
            host, port = words[3].rsplit(":", 1)
            found.append((int(words[2]), host, int(port), line))
    return found


def test_haproxy_checks_every_backend_and_the_ports_agree():
    sections = haproxy_sections()
    replicas = compose()["services"]
    for backend, service, host in (
        ("gateways", "gateway", "gateway-edge"),
        ("rasa_replicas", "rasa", "rasa"),
        ("action_servers", "actions", "actions"),
    ):
        lines = sections[f"backend {backend}"]
        found = servers(lines)
        assert found, backend
        assert sum(count for count, *_ in found) == replicas[service]["deploy"]["replicas"], backend
        for _count, server_host, port, line in found:
            assert "check" in line.split(), f"{backend}: {line}"
            assert (server_host, port) == (host, PORTS[service]), line
        assert any(line.startswith("option httpchk GET ") for line in lines), backend
    assert "option httpchk GET /healthz" in sections["backend gateways"]
    assert "option httpchk GET /health" in sections["backend action_servers"]
    assert sections["frontend public"][0] == f"bind :{PORTS['gateway']}"
    assert sections["frontend rasa"][0] == f"bind :{PORTS['rasa']}"
    assert sections["frontend actions"][0] == f"bind :{PORTS['actions']}"
    # The client's own X-Forwarded-For goes before HAProxy adds the real address: the gateway
    # reads the first header line.
    public = sections["frontend public"]
    assert public.index("http-request del-header X-Forwarded-For") < public.index("option forwardfor")
    assert "retry-on conn-failure" in sections["defaults"]


def websocket_paths() -> set:
    """The gateway's WebSocket routes, from its route tables."""
    from bot.web.console import routes as console_routes

    routes = (ROOT / "bot" / "web" / "routes.py").read_text(encoding="utf-8")
    paths = set(re.findall(r'add_get\("([^"]+/ws)"', routes))
    paths |= {console_routes.PREFIX + p for p in console_routes.ROUTES if p.endswith("/ws")}
    assert paths == {"/chat/ws", "/helpdesk/ws"}
    return paths


def test_the_websocket_paths_are_the_gateways():
    acl = next(line for line in haproxy_sections()["frontend public"] if line.startswith("acl socket_path "))
    assert set(acl.split()[3:]) == websocket_paths()
    sockets = k8s_objects("Ingress")["kw-gateway-sockets"]
    paths = {p["path"] for rule in sockets["spec"]["rules"] for p in rule["http"]["paths"]}
    assert paths == websocket_paths()
    assert int(sockets["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_haproxy_accepts_the_configuration(tmp_path):
    # Debian's HAProxy (make test installs it, scripts/ensure-haproxy.sh), as for bot/cluster.py.
    result = subprocess.run(
        [cluster.haproxy_bin(), "-c", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- ports ----------------------------------------------------------------------------------------


def container_port(deployment: str, name: str) -> int:
    spec = pod_spec(k8s_objects("Deployment")[deployment])
    return next(p["containerPort"] for c in spec["containers"] for p in c.get("ports", []) if p["name"] == name)


def probe_port(deployment: str, probe: dict) -> int:
    if "httpGet" in probe:
        port = probe["httpGet"]["port"]
        return port if isinstance(port, int) else container_port(deployment, port)
    return int(match(r"127\.0\.0\.1:(\d+)/", " ".join(probe["exec"]["command"])).group(1))


def test_the_ports_agree_everywhere(tmp_path):
    # The settings' defaults (what `make run` uses) are the ports of the manifests.
    defaults = load({"KW_VAR_DIR": str(tmp_path)})
    assert (defaults.gateway_port, defaults.rasa_port, defaults.actions_port) == tuple(PORTS.values())
    deployments = {"kw-gateway": "gateway", "kw-rasa": "rasa", "kw-actions": "actions"}
    for deployment, service in deployments.items():
        container = pod_spec(k8s_objects("Deployment")[deployment])["containers"][0]
        assert [p["containerPort"] for p in container["ports"]] == [PORTS[service]], deployment
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            if kind in container:
                assert probe_port(deployment, container[kind]) == PORTS[service], f"{deployment} {kind}"
    actions = pod_spec(k8s_objects("Deployment")["kw-actions"])["containers"][0]["command"]
    assert actions[actions.index("--port") + 1] == str(PORTS["actions"])
    # Services: kw-gateway, and kw-backend whose named target ports pick Rasa resp. action pods.
    services = k8s_objects("Service")
    assert [(p["port"], p["targetPort"]) for p in services["kw-gateway"]["spec"]["ports"]] == [(8080, "http")]
    assert container_port("kw-gateway", "http") == 8080
    backend = {p["name"]: p for p in services["kw-backend"]["spec"]["ports"]}
    assert (backend["rasa"]["port"], container_port("kw-rasa", backend["rasa"]["targetPort"])) == (5005, 5005)
    assert (backend["actions"]["port"], container_port("kw-actions", backend["actions"]["targetPort"])) == (5055, 5055)
    selector = services["kw-backend"]["spec"]["selector"]
    for deployment in ("kw-rasa", "kw-actions"):
        labels = k8s_objects("Deployment")[deployment]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), deployment
    labels = k8s_objects("Deployment")["kw-gateway"]["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= labels.items()  # the gateway is no backend
    for ingress in k8s_objects("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"] == {"name": "kw-gateway", "port": {"number": 8080}}
    data = k8s_objects("ConfigMap")["kw-settings"]["data"]
    assert (data["KW_GATEWAY_PORT"], data["KW_RASA_PORT"], data["KW_ACTIONS_PORT"]) == ("8080", "5005", "5055")
    # One Rasa URL (the balancer's) for the gateways, in both manifests.
    assert data["KW_RASA_WORKERS"] == "1" == compose()["x-app-settings"]["KW_RASA_WORKERS"]
    assert data["KW_HOST"] == "kw-backend" == services["kw-backend"]["metadata"]["name"]
    # compose
    services_c = compose()["services"]
    assert services_c["actions"]["command"][services_c["actions"]["command"].index("--port") + 1] == "5055"
    for service in ("gateway", "rasa", "actions"):
        check = " ".join(services_c[service]["healthcheck"]["test"])
        assert f"127.0.0.1:{PORTS[service]}/" in check, service
    assert "kw-backend" in services_c["haproxy"]["networks"]["backend"]["aliases"]
    assert compose_env("gateway")["KW_HOST"] == compose_env("rasa")["KW_HOST"] == "kw-backend"


# -- the Rasa image ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stores",
    [
        {
            "KW_HOST": "kw-backend",
            "KW_ACTIONS_PORT": "5056",
            "KW_TRACKER_STORE_URL": "postgresql+psycopg2://kw:geheim@db.internal:5433/kw_tracker",
            "KW_LOCK_STORE_URL": "redis://redis.internal:6380/2",
        },
        # Every default: no ports, user, password or database number.
        {"KW_TRACKER_STORE_URL": "postgresql://db.internal/kw_tracker", "KW_LOCK_STORE_URL": "redis://redis"},
        # The tracker cache's bounds (rasa_runtime/stores.py) reach both files alike.
        {
            "KW_TRACKER_STORE_URL": "postgresql://db.internal/kw_tracker",
            "KW_LOCK_STORE_URL": "redis://redis",
            "KW_TRACKER_CACHE_MAX_BYTES": "33554432",
            "KW_SESSION_IDLE_S": "600",
        },
    ],
)
def test_the_rasa_entrypoint_writes_what_the_launcher_writes(stores, tmp_path):
    env = {"KW_VAR_DIR": str(tmp_path), **stores}
    from_launcher = yaml.safe_load(launcher.write_endpoints(load(env)).read_text(encoding="utf-8"))
    assert entrypoint.endpoints(env) == from_launcher
    cache = {k: from_launcher["tracker_store"][k] for k in ("cache_max_bytes", "cache_idle_s")}
    assert cache == {
        "cache_max_bytes": int(stores.get("KW_TRACKER_CACHE_MAX_BYTES", 128 * 2**20)),
        "cache_idle_s": float(stores.get("KW_SESSION_IDLE_S", 1800)),
    }
    path = entrypoint.write(env)
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == from_launcher
    assert path.stat().st_mode & 0o077 == 0  # it holds the database password


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_rasa_calls_the_action_servers_through_kw_backend(where):
    env = compose_env("rasa") if where == "compose" else k8s_env("kw-rasa", "rasa")
    endpoints = entrypoint.endpoints(env)
    assert endpoints["action_endpoint"]["url"] == "http://kw-backend:5055/webhook"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "stores.RedisLockStore"
    cmd = entrypoint.command(env, ["--model", "m.tar.gz"], Path("/tmp/endpoints.yml"))
    assert cmd[cmd.index("--port") + 1] == "5005" and cmd[cmd.index("--interface") + 1] == "0.0.0.0"
    assert "--enable-api" in cmd and not any("TOKEN" in part or "token" in part for part in cmd)


@pytest.mark.parametrize(
    "env",
    [
        {"KW_LOCK_STORE_URL": "redis://r:6379/0"},
        {"KW_TRACKER_STORE_URL": "sqlite:///var/tracker.db", "KW_LOCK_STORE_URL": "redis://r:6379/0"},
        {"KW_TRACKER_STORE_URL": "postgresql://kw:x@db/kw_tracker"},
    ],
)
def test_a_rasa_replica_refuses_stores_of_its_own(env):
    with pytest.raises(SystemExit, match="KW_TRACKER_STORE_URL"):
        entrypoint.endpoints(env)


def test_the_image_build_checks_the_models_pipeline(tmp_path):
    check = load_module(DEPLOY / "rasa" / "check_model.py", "deploy_rasa_check_model")
    pipeline = tmp_path / "nl"
    pipeline.mkdir()
    (pipeline / "meta.json").write_text('{"lang": "nl", "name": "kw_lookup", "version": "3.4.4"}')
    models = tmp_path / "models"
    models.mkdir()
    (models / "kw-abc.tar.gz").write_bytes(b"model")
    assert "--build-arg MODEL" in check.problem("", models, pipeline)
    assert "missing" in check.problem("models/kw-abc.tar.gz", models, pipeline)
    (models / "kw-abc.json").write_text('{"spacy_pipeline": {"name": "nl_core_news_sm", "version": "3.4.0"}}')
    assert "trained with" in check.problem("models/kw-abc.tar.gz", models, pipeline)
    (models / "kw-abc.json").write_text('{"spacy_pipeline": {"name": "nl_kw_lookup", "version": "3.4.4"}}')
    assert check.problem("models/kw-abc.tar.gz", models, pipeline) == ""
    assert "not in models/" in check.problem("models/kw-other.tar.gz", models, pipeline)


def test_the_pods_wait_for_the_migration(tmp_path):
    wait = load_module(DEPLOY / "app" / "wait_for_migrations.py", "deploy_app_wait")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert not wait.at_head(url)
    migrations.upgrade(url)
    assert wait.at_head(url)


# -- Dockerfiles ----------------------------------------------------------------------------------


def copy_sources(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    sources = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
        sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", line)
    return sources


@pytest.mark.parametrize(
    "name, python, lock", [("Dockerfile.app", "3.12", "app.lock"), ("Dockerfile.rasa", "3.10", "rasa.lock")]
)
def test_the_dockerfiles_install_their_lock_and_copy_only_what_the_context_holds(name, python, lock):
    dockerfile = DEPLOY / name
    text = dockerfile.read_text(encoding="utf-8")
    assert f"FROM python:{python}-slim" in text
    assert f"pip install --no-deps -r requirements/{lock}" in text and "pip check" in text
    allowed = [
        line[1:].rstrip("/")
        for line in (DEPLOY / f"{name}.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for source in copy_sources(dockerfile):
        source = source.rstrip("/")
        # The source itself, or inside an allowed folder, or the folder of allowed globs
        # (models/*.tar.gz for the models mount).
        assert any(
            source == pattern
            or source.startswith(pattern + "/")
            or ("*" in pattern and pattern.rsplit("/", 1)[0] == source)
            for pattern in allowed
        ), f"{name}: COPY {source} is not in {name}.dockerignore"
        if not source.startswith(("var/", "models")):  # made by make setup / make train
            assert (ROOT / source).exists(), f"{name}: {source} does not exist"
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] != "root", name
