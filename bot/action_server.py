"""The action server (rasa-sdk) as one process: ``python -m bot.action_server --port P``.

rasa-sdk's own ``python -m rasa_sdk`` serves through Sanic's worker manager: a manager process
and a worker process. When the manager crashed (kill -9) the worker went on serving on the port,
out of the supervisor's sight, and the pair cost two interpreters' memory. Here the same app
(rasa-sdk's ``create_app_for_serve``, with its listeners and plugins) runs in a single process.

rasa-sdk has no authentication of its own; ``require_token`` refuses every call but ``/health``
without the token Rasa sends (derived from Rasa's, rasa_runtime/endpoints.py), so a local
process cannot run our actions (a status lookup, a ticket) by posting to this port.
"""
from __future__ import annotations

import argparse
import os
import hmac
from typing import List, Optional

from rasa_runtime.endpoints import ACTION_TOKEN_HEADER, action_token

#: What answers without the token: the readiness probes.
OPEN_PATHS = ("/health",)


def require_token(app, token: str) -> None:
    """A request middleware: 401 without ``Authorization: Bearer <token>``."""
    from sanic import response

    expected = f"Bearer {token}".encode("utf-8")

    @app.on_request
    async def check(request):
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(ACTION_TOKEN_HEADER, "").encode("utf-8", "replace")
        if not token or not hmac.compare_digest(given, expected):
            return response.json({"error": "token required"}, status=401)
        return None


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions", help="the package with the actions")
    args = parser.parse_args(argv)
    os.umask(0o077)  # what the actions write (SQLite files) is this user's alone

    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_app_for_serve
    from rasa_sdk.executor import ActionExecutor

    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions)
    # Only Rasa calls this server: no browser origin needs CORS. No endpoints file: rasa-sdk
    # reads only tracing settings from it, and we trace nothing.
    app = create_app_for_serve(executor, cors_origins=None, endpoints="")
    from bot.settings import get_settings

    require_token(app, action_token(get_settings().rasa_token))
    app.run(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port, single_process=True,
            access_log=False, motd=False)


if __name__ == "__main__":
    main()
