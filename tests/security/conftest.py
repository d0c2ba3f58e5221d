"""The attacks of issue 8, black-box against the real gateway process in front of the session's
real Rasa stack. The gateway trusts 127.0.0.1 as a proxy here, so a test can speak for many
client addresses through X-Forwarded-For, as the load balancer would."""
from __future__ import annotations

import os

import pytest

from bot.settings import ROOT
from tests.fixtures.gateway import GatewayProcess, free_port


@pytest.fixture(scope="session")
def edge(rasa_stack, tmp_path_factory) -> GatewayProcess:
    env = dict(rasa_stack.env)
    env.update({
        "KW_GATEWAY_PORT": str(free_port()),
        "KW_GATEWAY_HOST": "127.0.0.1",
        "KW_TRUSTED_PROXIES": "127.0.0.1/32",
        "KW_PURGE_INTERVAL_S": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    })
    proc = GatewayProcess(env, tmp_path_factory.mktemp("edge") / "gateway.log")
    proc.rasa_stack = rasa_stack
    proc.start()
    yield proc
    proc.stop()
