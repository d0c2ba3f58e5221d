"""Rasa runtime patches for its connection to the action server: responses validated with a
schema compiled once, one kept connection. (The tracker store's and lock stores' connections are
our store classes, stores.py.)

Installed by ``serve.py`` before Rasa starts; each has a test against the real part
(rasa_runtime/tests/, run from tests/unit/test_rasa_runtime.py).

- Rasa checks every action-server response with ``jsonschema.validate``, which first checks the
  schema itself against the metaschema and builds a new validator: about 40 % of Rasa's time
  under load (py-spy, docs/performance.md). ``install_fast_validation`` builds the validator
  once; the same responses are accepted and refused, with the same error.
- Rasa opens a new client session, and with it a new connection, for every call to the action
  server (``EndpointConfig.request`` closes the session it got from ``session()``).
  ``install_action_keepalive`` keeps one session per event loop, its connection kept idle for
  ``ACTION_KEEPALIVE_S``, and encodes the request bodies with ujson.

Rasa's names replaced here (rasa_runtime/versions.py refuses any other Rasa):
``RemoteAction._validate_action_result``, ``EndpointConfig.session``.
"""

from __future__ import annotations


def install_fast_validation() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, at start, instead of on every response
    validator = cls(schema)

    def _validate_action_result(self, result):
        if validator.is_valid(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


#: Seconds an idle connection to the action server is kept: under Sanic's 5 s keep-alive, so
#: the client always lets go first and never sends on a connection the server is closing.
ACTION_KEEPALIVE_S = 2.0


def install_action_keepalive() -> None:
    import asyncio
    import json

    import aiohttp
    import ujson
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    class Borrowed:
        """``async with`` on a kept session: Rasa's ``request`` closes its session on exit."""

        def __init__(self, session):
            self.session = session

        async def __aenter__(self):
            return self.session

        async def __aexit__(self, *exc):
            return False

    def dumps(value) -> str:
        """ujson (a dependency of Rasa's) encodes the conversation that goes with every action
        call several times faster than ``json.dumps`` (5 % of a turn); what it cannot encode
        (an integer beyond 64 bits) goes to ``json.dumps``."""
        try:
            return ujson.dumps(value)
        except (OverflowError, TypeError, ValueError):
            return json.dumps(value)

    def session(self):
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kw_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
            )
            kept = (
                loop,
                aiohttp.ClientSession(
                    headers=self.headers,
                    auth=auth,
                    json_serialize=dumps,
                    timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                    connector=aiohttp.TCPConnector(keepalive_timeout=ACTION_KEEPALIVE_S),
                ),
            )
            self.__dict__["_kw_session"] = kept
        return Borrowed(kept[1])

    EndpointConfig.session = session
