"""`python -m bot run-cluster` checks every port it would bind before anything starts, as
`python -m bot run` does (test_supervision.py): a port held by another program (a real
listening socket of this test) is refused in one Dutch sentence naming the port, what it is for,
the process holding it and the setting that moves it; no database is touched, no certificate
made, nothing started. The refusal comes before the model is looked at, so no cluster starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from bot import cluster, launcher
from bot.ports import command_line, port_in_use
from bot.settings import ROOT, load


def cluster_env(var_dir) -> dict[str, str]:
    """Free ports with room for each frontend's two replicas after it, SQLite stores (nothing
    shared is touched), and a pinned model that does not exist: a start that got past the check
    would fail at once instead of training."""
    return launcher.isolated_env(
        var_dir,
        {
            "KW_GATEWAY_PORT": str(launcher.free_ports(3)),
            "KW_RASA_PORT": str(launcher.free_ports(3)),
            "KW_ACTIONS_PORT": str(launcher.free_ports(3)),
            "KW_TLS_PORT": str(launcher.free_port()),
            "KW_DATABASE_URL": f"sqlite:///{var_dir / 'app.db'}",
            "KW_TRACKER_STORE_URL": f"sqlite:///{var_dir / 'tracker.db'}",
            "KW_LOCK_STORE_URL": "redis://127.0.0.1:1/0",
            "KW_PUBSUB_URL": "redis://127.0.0.1:1/0",
            "KW_DEV_MODEL": str(var_dir / "geen-model.tar.gz"),
        },
    )


def test_the_cluster_checks_all_its_ports(tmp_path):
    settings = load(cluster_env(tmp_path / "var"))
    ports = cluster.Ports.after(settings)
    checked = cluster.cluster_ports(settings, ports)
    assert [p.port for p in checked] == [
        ports.public,
        ports.tls,
        ports.rasa,
        ports.actions,
        *ports.gateways,
        *ports.rasas,
        *ports.action_servers,
    ]
    assert len({p.port for p in checked}) == 4 + 3 * cluster.REPLICAS
    assert [p.what for p in checked][4:] == [
        "gateway 1",
        "gateway 2",
        "Rasa-replica 1",
        "Rasa-replica 2",
        "actieserver 1",
        "actieserver 2",
    ]


@pytest.mark.parametrize(
    "taken", ["de ingang (HAProxy)", "de HTTPS-ingang (HAProxy)", "Rasa-replica 2", "actieserver 1"]
)
def test_a_cluster_port_held_by_another_program_is_refused_by_name(tmp_path, taken):
    var_dir = tmp_path / "var"
    env = cluster_env(var_dir)
    settings = load(env)
    checked = cluster.cluster_ports(settings, cluster.Ports.after(settings))
    port = next(p for p in checked if p.what == taken)
    with socket.socket() as foreign:
        foreign.bind((port.host, port.port))
        foreign.listen()
        result = subprocess.run(
            [sys.executable, "-m", "bot", "run-cluster"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.strip() == (
            f"Poort {port.port} voor {port.what} is al in gebruik door proces {os.getpid()} "
            f"({command_line(os.getpid())}); stop dat proces of kies met {port.setting} "
            f"een andere poort."
        )
        assert result.stdout == ""
    # Nothing was prepared or started: no database, certificate, HAProxy config or log (the
    # settings' generated demo secrets are all the var dir holds), no other port held.
    assert sorted(path.name for path in var_dir.iterdir()) == ["secrets.json"]
    assert not [p.port for p in checked if port_in_use(p.host, p.port)]
