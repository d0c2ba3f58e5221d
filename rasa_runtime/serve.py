"""Start ``rasa run`` in the Rasa runtime: the token from the environment, our patches installed.

Run as ``.venv-rasa/bin/python rasa_runtime/serve.py run --model … --enable-api …``.

- Rasa 3.6 takes its token only as ``--auth-token``; a token on a command line is visible to
  every local user in ``ps``. This shim reads ``KW_RASA_TOKEN``, drops it from the environment
  and hands it to Rasa's own CLI in-process, so the process's command line never holds it.
- Before anything else, the installed Rasa, rasa-sdk and TensorFlow must be the versions the
  patches were written for (``versions``, from requirements/rasa.lock); any other refuses the
  start with the reason, on stderr, and exit status 1.
- Before Rasa starts, the patches of the sibling modules are installed where Rasa has no
  extension point; each module says what it changes and why, with what it cost before (py-spy,
  docs/performance.md): ``connections_patches`` (the action server), ``trackers_patches``
  (replaying and copying conversations, sessions) and ``model_patches`` (loading the model,
  running its graph, the unknown-words fallback). The tracker store and the lock stores are
  classes of ours that endpoints.yml names (``stores``); they are imported here first, so a
  broken one stops the start instead of Rasa quietly keeping trackers in memory.
- The REST channel is ``channels.TokenRestInput`` (credentials.yml): Rasa's token is required
  there as well as on the HTTP API. The action server's token (derived from it) reaches
  endpoints.yml's ``${KW_ACTION_TOKEN}`` through this process's environment.
- Tracing and logs (docs/operations.md): each worker turns tracing on when ``KW_OTLP_ENDPOINT``
  or ``KW_TRACE_FILE`` is set (``tracing_patches``) and logs in ``KW_LOG_FORMAT`` (json or text,
  ``jsonlogs``: the fields of every process), taking over Rasa's logging once Rasa set it up.
- ``KW_RASA_WORKERS`` above 1 serves from that many worker processes, forked from one that
  loaded the heavy parts once (``workers``), on ``--port`` and the ports after it.
"""

from __future__ import annotations

import os
import sys

import endpoints
import jsonlogs
import versions

#: The default of KW_SESSION_MAX_TURNS (bot/settings.py), for a Rasa started without our
#: launcher (deploy/rasa/entrypoint.py); "0" turns the rollover off.
DEFAULT_SESSION_MAX_TURNS = 25
#: This process's name in log lines (jsonlogs.py); its spans' is tracing_patches.SERVICE.
SERVICE = "rasa"


def main() -> None:
    # Our log format from the first line on (what Rasa's imports print, too); each worker takes
    # over Rasa's logging again once Rasa set it up (``observe``).
    jsonlogs.install(SERVICE, jsonlogs.format_from_env(), os.environ.get("KW_LOG_LEVEL") or "INFO")
    versions.check()
    token = os.environ.pop("KW_RASA_TOKEN", "")
    if not token:
        sys.exit("KW_RASA_TOKEN ontbreekt: Rasa start niet zonder token.")
    # The REST channel requires the token too (channels.py; imported here, as it imports Rasa,
    # and found again by Rasa under the same name), and the action server a token derived from
    # it, which endpoints.yml's action endpoint sends as a header (endpoints.py).
    import channels

    channels.TOKEN = token
    os.environ[endpoints.ACTION_TOKEN_ENV] = endpoints.action_token(token)
    from rasa.__main__ import main as rasa_main

    import connections_patches
    import model_patches
    import stores  # noqa: F401 (named in endpoints.yml; an error in it must stop the start)
    import trackers_patches

    connections_patches.install_fast_validation()
    connections_patches.install_action_keepalive()
    model_patches.install_fast_model_load()
    model_patches.install_direct_predict()
    model_patches.install_one_step_feature_join()
    model_patches.install_sequential_graph_runner()
    model_patches.install_unknown_words_fallback()
    trackers_patches.install_event_type_cache()
    trackers_patches.install_applied_events_cache()
    trackers_patches.install_form_tracker_copy()
    trackers_patches.install_session_rollover(int(os.environ.get("KW_SESSION_MAX_TURNS") or DEFAULT_SESSION_MAX_TURNS))
    # "--auth-token=…" in one word: a token may start with "-", which argparse would take for
    # an option if it came as its own argument.
    # TensorFlow's thread pools: DIET's operations are small, so handing them to other threads
    # costs more than it saves (one parse 5.4 -> 4.5 ms on 2 cores), and one worker per core
    # would have its pools compete with the other worker. Rasa reads these when it starts.
    for name in ("TF_INTER_OP_PARALLELISM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS"):
        os.environ.setdefault(name, "1")
    argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    count = int(os.environ.get("KW_RASA_WORKERS") or 1)

    def run(args):
        sys.argv = args
        observe()
        rasa_main()

    if count > 1:
        import workers

        sys.exit(workers.serve(argv, count, run))
    run(argv)


def observe() -> None:
    """In this process (a worker, after the fork): tracing from the environment, and our log
    format in place of Rasa's once Rasa configured its logging, and again once Sanic made its
    app (the REST channel's blueprint is built after that, channels.py)."""
    import logging

    import rasa.__main__ as rasa_cli
    import rasa.utils.common as rasa_common

    import channels
    import tracing_patches

    tracing_patches.install()
    fmt = jsonlogs.format_from_env()
    level = os.environ.get("KW_LOG_LEVEL") or "INFO"

    def take_over() -> None:
        jsonlogs.install(SERVICE, fmt, level, structlog_json=True)

    configure_structlog = rasa_cli.configure_structlog

    def configured(*args, **kwargs):
        configure_structlog(*args, **kwargs)
        take_over()

    rasa_cli.configure_structlog = configured
    channels.ON_BLUEPRINT = take_over
    update_sanic_log_level = rasa_common.update_sanic_log_level

    def sanic_levels(*args, **kwargs):
        # Rasa cuts Sanic's loggers off the root just before serving: its server and error
        # lines come back to our handler; its access lines stay off (their URLs hold tokens).
        update_sanic_log_level(*args, **kwargs)
        for name in ("sanic.root", "sanic.error", "sanic.server"):
            logging.getLogger(name).handlers[:] = []
            logging.getLogger(name).propagate = True

    rasa_common.update_sanic_log_level = sanic_levels
    take_over()


if __name__ == "__main__":
    main()
