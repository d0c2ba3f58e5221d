"""rasa_runtime/: the start shim, run in the real Rasa runtime (Python 3.10, Rasa 3.6)."""
import json
import subprocess

from bot import launcher
from bot.settings import ROOT, load

CHECK = r"""
import json, sys
sys.path.insert(0, "rasa_runtime")
import serve
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

serve.install_fast_validation()
action = RemoteAction("action_x", None)
good = {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "hoi"}]}
bad = [{"events": "geen lijst"}, {"events": [{"geen": "event"}]}, {"responses": [1]}, []]
out = {"good": action._validate_action_result(good), "refused": []}
for response in bad:
    try:
        action._validate_action_result(response)
        out["refused"].append(False)
    except ValidationError as exc:
        out["refused"].append("Failed to validate Action server response" in exc.message)
print(json.dumps(out))
"""


def test_fast_validation_still_refuses_malformed_action_responses(tmp_path):
    python = launcher.rasa_python(load({"KW_VAR_DIR": str(tmp_path)}))
    result = subprocess.run([str(python), "-c", CHECK], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"good": True, "refused": [True, True, True, True]}
