"""Start ``rasa run`` in the Rasa runtime with the HTTP API token taken from the environment.

Run as ``.venv-rasa/bin/python rasa_runtime/serve.py run --model … --enable-api …``. Rasa 3.6
takes its token only as ``--auth-token``; a token on a command line is visible to every local
user in ``ps``. This shim reads ``KW_RASA_TOKEN``, drops it from the environment and hands it to
Rasa's own CLI in-process, so the process's command line never holds it.
"""
from __future__ import annotations

import os
import sys


def main() -> None:
    token = os.environ.pop("KW_RASA_TOKEN", "")
    if not token:
        sys.exit("KW_RASA_TOKEN ontbreekt: Rasa start niet zonder token.")
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    rasa_main()


if __name__ == "__main__":
    main()
