"""The attacks of issue 8, black-box against the real gateway process in front of the session's
real Rasa stack. The gateway trusts 127.0.0.1 as a proxy here, so a test can speak for many
client addresses through X-Forwarded-For, as the load balancer would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.gateway import GatewayProcess, gateway_for


@pytest.fixture(scope="session")
def edge(rasa_stack, tmp_path_factory) -> Iterator[GatewayProcess]:
    proc = gateway_for(
        rasa_stack, tmp_path_factory.mktemp("edge"), KW_TRUSTED_PROXIES="127.0.0.1/32", KW_PURGE_INTERVAL_S="1"
    )
    yield proc
    proc.stop()
