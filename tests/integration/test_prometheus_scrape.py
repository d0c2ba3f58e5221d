"""A real Prometheus (Debian's, scripts/ensure-prometheus.sh) scrapes a running gateway's and
a running action server's /metrics with the scrape settings of deploy/prometheus/prometheus.yml
and evaluates a rule.

The gateway is the real app in front of the fake Rasa of conftest.py (this test is about the
scrape, not the answers; its "empty" failure makes one turn an error); the action server is the
real process (`python -m bot.action_server`) on the same settings. The configuration is
deploy/prometheus/prometheus.yml with only what cannot be the same here replaced: the targets (a
static address instead of DNS), the token files, the intervals (1 s) and the rule file (one
recording rule). A second job sends a wrong token and must be refused: the gateway answers
loopback without a token, so only a refusal shows that Prometheus really sends the token from
the file. (The action server lets a loopback scrape through whatever token it carries, so here
its job shows the scrape and the series, not the token; tests/integration/test_metrics.py checks
that it takes KW_OPS_TOKEN.)
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.launcher import actions_command, free_port
from bot.settings import ROOT as APP_ROOT
from tests.fixtures.gateway import poll_async

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
OPS_TOKEN = "ops-token-for-tests-0123456789abcdef"  # conftest.make_settings' KW_OPS_TOKEN
ANSWERED = 3
#: The one rule: turns by outcome over all gateways (what KwNoAnswers and KwHighErrorRate
#: build on).
RULE = "kw:turns:by_outcome"
RULE_EXPR = "sum by (outcome) (kw_turns_total)"


def scrape_config(tmp_path: Path, target: str, actions_target: str, actions_secret: str) -> Path:
    good, bad = tmp_path / "ops_token", tmp_path / "wrong_token"
    good.write_text(OPS_TOKEN + "\n")
    bad.write_text("not-the-ops-token-0123456789abcdef\n")
    actions_file = tmp_path / "actions_token"
    actions_file.write_text(actions_secret + "\n")
    config = yaml.safe_load((PROM / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = ["rules.yml"]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "kw-gateway")
    del job["dns_sd_configs"]
    job["static_configs"] = [{"targets": [target]}]
    job["authorization"]["credentials_file"] = str(good)
    wrong = copy.deepcopy(job)
    wrong["job_name"] = "kw-gateway-wrong-token"
    wrong["authorization"]["credentials_file"] = str(bad)
    actions = next(j for j in config["scrape_configs"] if j["job_name"] == "kw-actions")
    del actions["dns_sd_configs"]
    actions["static_configs"] = [{"targets": [actions_target]}]
    actions["authorization"]["credentials_file"] = str(actions_file)
    config["scrape_configs"] = [job, wrong, actions]
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "kw-test", "rules": [{"record": RULE, "expr": RULE_EXPR}]}]})
    )
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def prometheus(tmp_path):
    """Start Prometheus on a free port with a generated configuration; yields its URL."""
    procs = []

    def start(*args: str) -> str:
        config = scrape_config(tmp_path, *args)
        port = free_port()
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        assert Path(binary).exists(), "prometheus ontbreekt: draai scripts/ensure-prometheus.sh"
        with open(tmp_path / "prometheus.log", "ab") as log:  # the child keeps its own copy
            procs.append(
                subprocess.Popen(
                    [
                        binary,
                        f"--config.file={config}",
                        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--log.level=warn",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return f"http://127.0.0.1:{port}"

    yield start
    stop(procs)


def stop(procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def action_server(tmp_path):
    """The real action server on a free port with the gateway's settings; yields a starter."""
    procs = []

    async def start(settings) -> str:
        port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "KW_VAR_DIR": str(settings.var_dir),
                "KW_RASA_TOKEN": settings.rasa_token,
                "KW_DATABASE_URL": settings.database_url,
                "KW_OPS_TOKEN": OPS_TOKEN,
                "SANIC_HOST": "127.0.0.1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(APP_ROOT), env.get("PYTHONPATH")])),
            }
        )
        with open(tmp_path / "actions.log", "ab") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                actions_command(port),
                cwd=APP_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(proc)

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:

            async def healthy():
                assert proc.poll() is None, (tmp_path / "actions.log").read_text()[-3000:]
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                        return resp.status == 200
                except (aiohttp.ClientError, OSError):
                    return False

            await poll_async(healthy, 90, "action server /health", interval=0.2)
        return f"127.0.0.1:{port}"

    yield start
    stop(procs)


async def api(session: aiohttp.ClientSession, url: str, path: str, **params):
    try:
        async with session.get(f"{url}/api/v1/{path}", params=params) as resp:
            if resp.status != 200:
                return None
            body = await resp.json()
    except aiohttp.ClientError:
        return None  # not listening yet
    return body["data"] if body.get("status") == "success" else None


async def test_prometheus_scrapes_the_gateway_and_evaluates_a_rule(start_gateway, fake_rasa, prometheus, action_server):
    client = await start_gateway()
    actions_target = await action_server(client.settings)
    ready = await (await client.post("/chat/http", json={"type": "hello"}, headers={"Origin": client.origin})).json()
    session_token = ready["frames"][0]["session"]

    async def turn(n: int) -> str:
        resp = await client.post(
            "/chat/http",
            headers={"Origin": client.origin},
            json={"type": "message", "id": f"msg-prom-{n:03d}", "text": "hallo", "session": session_token},
        )
        return (await resp.json())["frames"][-1]["type"]

    for n in range(ANSWERED):
        assert await turn(n) == "reply"
    fake_rasa.failures = ["empty"]  # an action failed: Rasa answers nothing
    assert await turn(ANSWERED) == "error"

    target = f"127.0.0.1:{client.server.port}"
    url = prometheus(target, actions_target, OPS_TOKEN)  # both jobs send KW_OPS_TOKEN
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:

        async def targets_scraped():
            data = await api(http, url, "targets")
            if not data:
                return None
            found = {t["labels"]["job"]: t for t in data["activeTargets"]}
            if set(found) == {"kw-gateway", "kw-gateway-wrong-token", "kw-actions"} and all(
                t["health"] != "unknown" for t in found.values()
            ):
                return found
            return None

        found = await poll_async(targets_scraped, 60, "Prometheus scraped every job", interval=0.2)
        assert found["kw-actions"]["health"] == "up", found["kw-actions"]["lastError"]
        assert found["kw-gateway"]["health"] == "up", found["kw-gateway"]["lastError"]
        assert found["kw-gateway"]["labels"]["instance"] == target
        assert found["kw-gateway-wrong-token"]["health"] == "down"
        assert "403" in found["kw-gateway-wrong-token"]["lastError"]

        async def rule_value():
            data = await api(http, url, "query", query=RULE)
            return data["result"] if data and data["result"] else None

        async def rule_evaluated_on_all_turns():
            result = await rule_value()
            if result and sum(float(r["value"][1]) for r in result) == ANSWERED + 1:
                return result
            return None

        result = await poll_async(rule_evaluated_on_all_turns, 60, f"the rule {RULE} evaluated", interval=0.2)
        assert {r["metric"]["outcome"]: float(r["value"][1]) for r in result} == {
            "answered": ANSWERED,
            "error": 1,
            "fallback": 0,
            "handoff": 0,
        }

        latency = await api(http, url, "query", query='kw_turn_duration_seconds_count{job="kw-gateway"}')
        assert {r["metric"]["transport"]: float(r["value"][1]) for r in latency["result"]} == {
            "http": ANSWERED + 1,
            "ws": 0,
        }

        groups = (await api(http, url, "rules"))["groups"]
        rule = groups[0]["rules"][0]
        assert rule["name"] == RULE and rule["health"] == "ok", rule

        # `up` as the alert rules see it: 1 for the gateway, 0 for the job with the wrong token.
        up = await api(http, url, "query", query="up")
        assert {r["metric"]["job"]: r["value"][1] for r in up["result"]} == {
            "kw-gateway": "1",
            "kw-gateway-wrong-token": "0",
            "kw-actions": "1",
        }
        # The action server's own series, at 0 from its start (every registered action).
        errors = await api(http, url, "query", query='kw_action_errors_total{job="kw-actions"}')
        actions = {r["metric"]["action"] for r in errors["result"]}
        assert {"action_answer_faq", "action_rephrase", "action_status_lookup", "action_handoff_create"} <= actions, (
            actions
        )
        assert all(r["value"][1] == "0" for r in errors["result"])
