"""Start ``rasa run`` in the Rasa runtime: the token from the environment, and action responses
validated against a schema compiled once.

Run as ``.venv-rasa/bin/python rasa_runtime/serve.py run --model … --enable-api …``.

- Rasa 3.6 takes its token only as ``--auth-token``; a token on a command line is visible to
  every local user in ``ps``. This shim reads ``KW_RASA_TOKEN``, drops it from the environment
  and hands it to Rasa's own CLI in-process, so the process's command line never holds it.
- Rasa checks every action-server response with ``jsonschema.validate``, which first checks the
  schema itself against the metaschema and builds a new validator: about 40 % of Rasa's time
  under load (py-spy, docs/performance.md). ``install_fast_validation`` builds the validator
  once; the same responses are accepted and refused, with the same error.
"""
from __future__ import annotations

import os
import sys


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
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions")
        raise error

    RemoteAction._validate_action_result = _validate_action_result


def main() -> None:
    token = os.environ.pop("KW_RASA_TOKEN", "")
    if not token:
        sys.exit("KW_RASA_TOKEN ontbreekt: Rasa start niet zonder token.")
    from rasa.__main__ import main as rasa_main

    install_fast_validation()
    # "--auth-token=…" in one word: a token may start with "-", which argparse would take for
    # an option if it came as its own argument.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    rasa_main()


if __name__ == "__main__":
    main()
