"""The action server (rasa-sdk) as one process: ``python -m bot.action_server --port P``.

rasa-sdk's own ``python -m rasa_sdk`` serves through Sanic's worker manager: a manager process
and a worker process. When the manager crashed (kill -9) the worker went on serving on the port,
out of the supervisor's sight, and the pair cost two interpreters' memory. Here the same app
(rasa-sdk's ``create_app_for_serve``, with its listeners and plugins) runs in a single process.
"""
from __future__ import annotations

import argparse
import os
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions", help="the package with the actions")
    args = parser.parse_args(argv)

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
    app.run(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port, single_process=True,
            access_log=False, motd=False)


if __name__ == "__main__":
    main()
