"""Build-time check of deploy/Dockerfile.rasa: the model named by ``--build-arg MODEL`` exists
and was trained with the Dutch spaCy pipeline that goes into the image (var/spacy/nl).

SpacyNLP loads that pipeline from disk at start; it is not inside the model. The launcher
writes the pipeline's identity beside each model (models/kw-<fingerprint>.json,
bot/launcher.py ``ensure_model``), so a model trained with one pipeline and served with another
is caught here, when the image is built, not in the answers.

Usage (in the Rasa runtime): python deploy/rasa/check_model.py MODEL MODELS_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from rasa_runtime.prepare_nlp import identity  # noqa: E402 - needs ROOT on the path


def problem(model: str, models_dir: Path, pipeline_dir: Path) -> str:
    """What is wrong, or an empty string."""
    if not model:
        return "Build with --build-arg MODEL=models/kw-<fingerprint>.tar.gz"
    name = Path(model).name
    if not (models_dir / name).is_file():
        return f"{name} is not in models/"
    meta = models_dir / (name[: -len(".tar.gz")] + ".json" if name.endswith(".tar.gz") else name + ".json")
    if not meta.is_file():
        return f"{meta.name} is missing beside the model: train with `make train`, which writes it."
    trained = json.loads(meta.read_text(encoding="utf-8")).get("spacy_pipeline")
    present = identity(pipeline_dir)
    if trained != present:
        return f"The model was trained with the Dutch pipeline {trained}, but var/spacy/nl is {present}."
    return ""


if __name__ == "__main__":
    message = problem(sys.argv[1] if len(sys.argv) > 1 else "", Path(sys.argv[2]), ROOT / "var" / "spacy" / "nl")
    if message:
        sys.exit(message)
    print(f"Model {Path(sys.argv[1]).name}: trained with the pipeline in var/spacy/nl.")
