"""Which Dutch spaCy pipeline config.yml points at, and building it in the Rasa runtime.

spaCy lives only in the Rasa runtime (Python 3.10), so the pipeline is built there by
``rasa_runtime/prepare_nlp.py``; this side only reads its identity (name and version from its
meta.json), which goes into the model fingerprint and the start-up message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# The builder's module imports spaCy only inside its functions, so reading an identity here
# needs no spaCy: one definition for both runtimes.
from rasa_runtime.prepare_nlp import OFFICIAL, identity  # identity is this module's API

SCRIPT = Path(__file__).resolve().parent.parent / "rasa_runtime" / "prepare_nlp.py"


def describe(ident: dict[str, str]) -> str:
    if not ident:
        return "geen Nederlandse pijplijn voorbereid"
    if ident["name"] == OFFICIAL:
        return f"spaCy {OFFICIAL} {ident['version']}"
    return f"lokale Nederlandse pijplijn {ident['name']} {ident['version']} (spaCy-taal nl + lookup-lemmatizer)"


def prepare(target: Path, rasa_python: Path) -> dict[str, str]:
    """(Re)build the pipeline at `target` with the Rasa runtime's Python; returns its identity."""
    subprocess.run([str(rasa_python), str(SCRIPT), str(target)], check=True, stdout=subprocess.DEVNULL)
    return identity(target)
