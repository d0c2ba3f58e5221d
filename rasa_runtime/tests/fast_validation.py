"""The action server's responses, checked with the validator built once
(connections_patches.install_fast_validation): the same accepted, the same refused with Rasa's
message. Writes JSON to the path given first."""

import json
import sys

from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import connections_patches

GOOD = {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "hoi"}]}
BAD = [{"events": "geen lijst"}, {"events": [{"geen": "event"}]}, {"responses": [1]}, []]


def main(out_path: str) -> None:
    connections_patches.install_fast_validation()
    action = RemoteAction("action_x", None)
    out = {"good": action._validate_action_result(GOOD), "refused": []}
    for response in BAD:
        try:
            action._validate_action_result(response)
            out["refused"].append(False)
        except ValidationError as exc:
            out["refused"].append("Failed to validate Action server response" in exc.message)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
