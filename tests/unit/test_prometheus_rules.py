"""deploy/prometheus/ with Debian's real promtool (scripts/ensure-prometheus.sh installs it in
`make test`): the scrape configuration and the alert rules are valid, every alert passes the
unit tests of alerts_test.yml, and every alert carries what an operator needs (severity, `for`,
summary, a runbook section that exists in docs/operations.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
OPERATIONS = ROOT / "docs" / "operations.md"


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool") or "/usr/bin/promtool"
    assert Path(tool).exists(), "promtool ontbreekt: draai scripts/ensure-prometheus.sh"
    return subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def alerts():
    groups = yaml.safe_load((PROM / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_scrape_config_is_valid(tmp_path):
    # The real file reads the ops token from a mounted Secret that does not exist here; promtool
    # checks that file, so the copy points at a temporary one (nothing else changes).
    token = tmp_path / "kw_ops_token"
    token.write_text("ops-token-for-tests-0123456789abcdef")
    config = yaml.safe_load((PROM / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"kw-gateway", "kw-actions"}  # the names the alert rules use
    for job in jobs.values():  # both answer /metrics to KW_OPS_TOKEN
        assert job["metrics_path"] == "/metrics"
        assert job["authorization"] == {"type": "Bearer", "credentials_file": "/etc/prometheus/secrets/kw_ops_token"}
        job["authorization"]["credentials_file"] = str(token)
    assert [sd["port"] for sd in jobs["kw-gateway"]["dns_sd_configs"]] == [8080]
    assert [sd["port"] for sd in jobs["kw-actions"]["dns_sd_configs"]] == [5055]
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_are_valid():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_rule_unit_tests_pass():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "FAILED" not in result.stdout


def test_every_alert_is_tested_firing_and_silent():
    """Each alert appears in alerts_test.yml at least once with an expected alert and once
    with none (the near miss)."""
    tests = yaml.safe_load((PROM / "alerts_test.yml").read_text(encoding="utf-8"))["tests"]
    fired: set[str] = set()
    silent: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - fired == set(), "never shown firing"
    assert names - silent == set(), "never shown silent"


def test_every_alert_has_severity_for_summary_and_a_runbook_section():
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert re.fullmatch(r"\d+m", rule["for"]), name
        assert rule["annotations"]["summary"], name
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"docs/operations.md#{name.lower()}", name
        assert name.lower() in anchors, f"docs/operations.md has no section '{name}'"


# -- the dashboard and the metric names --------------------------------------------------------

DASHBOARD = ROOT / "deploy" / "grafana" / "kw-dashboard.json"
METRIC = re.compile(r"\bkw_[a-z_]+[a-z]\b")
SUFFIXES = ("_bucket", "_count", "_sum")


def dashboard_exprs():
    import json

    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return [(p["title"], t["expr"]) for p in panels if p["type"] != "row" for t in p["targets"]]


def exposed_name(name: str) -> str:
    """The name as written in the code: histograms without their series suffix, counters
    without ``_total`` (prometheus-client adds it)."""
    for suffix in (*SUFFIXES, "_total"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_dashboard_queries_are_valid_promql(tmp_path):
    """Grafana's variables replaced by what they stand for, each query becomes a recording
    rule that promtool parses."""
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    rules = [
        {"record": f"kw:dashboard_{n}", "expr": expr.replace("$__rate_interval", "5m").replace("$instance", ".*")}
        for n, (_, expr) in enumerate(exprs)
    ]
    (tmp_path / "dashboard_rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    result = promtool("check", "rules", "dashboard_rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_shows_the_golden_signals_and_the_helpdesk_queue():
    import json

    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert rows == ["Overview", "Traffic", "Errors", "Latency", "Saturation", "Helpdesk"]
    used = " ".join(expr for _, expr in dashboard_exprs())
    for needed in (
        "kw_turns_total",
        "kw_turn_duration_seconds_bucket",
        "kw_rasa_in_flight",
        "kw_rasa_queue_wait_seconds_bucket",
        "kw_open_sockets",
        "kw_tickets_waiting",
        "kw_ticket_oldest_wait_seconds",
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
    ):
        assert needed in used, needed


def test_alerts_and_dashboard_use_only_metrics_the_code_exports_and_the_docs_explain():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    docs = OPERATIONS.read_text(encoding="utf-8")
    used = set(METRIC.findall((PROM / "alerts.yml").read_text(encoding="utf-8")))
    used |= {m for _, expr in dashboard_exprs() for m in METRIC.findall(expr)}
    for name in sorted(used):
        base = exposed_name(name)
        assert f'"{base}"' in source, f"{name}: no metric {base!r} in bot/"
        documented = base + "_total" if name.endswith("_total") else base
        assert f"`{documented}`" in docs, f"{name}: not in docs/operations.md"
