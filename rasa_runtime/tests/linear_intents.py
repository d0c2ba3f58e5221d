"""The intent classifier of config.yml (rasa_runtime/linear_intents.py) trained on data/nlu,
stored, and loaded again as Rasa does, and trained a second time; its own scoring against
scikit-learn's transform on every held-out text. Arguments: the JSON output path, a scratch
folder for the model storage."""

import json
import sys
from pathlib import Path

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from rasa_runtime.linear_intents import LinearIntentClassifier

TEXTS = ["wat is de deadline", "welke gebieden doen mee", "hoeveel geld krijgt Utrecht", "", "x" * 3000, "<b>?</b>"]


def parses(component: LinearIntentClassifier) -> list:
    messages = [Message({"text": t}) for t in TEXTS]
    component.process(messages)
    return [{"intent": m.get("intent"), "ranking": m.get("intent_ranking")} for m in messages]


def trained(storage_dir: Path) -> tuple:
    storage_dir.mkdir(parents=True)
    storage = LocalModelStorage(storage_dir)
    resource = Resource("linear_intents")
    context = ExecutionContext(GraphSchema({}), node_name="linear_intents")
    component = LinearIntentClassifier.create({}, storage, resource, context)
    component.train(load_data("data/nlu"))
    return component, storage, resource, context


def main(out_path: str, scratch: str) -> None:
    first, storage, resource, context = trained(Path(scratch) / "first")
    loaded = LinearIntentClassifier.load({}, storage, resource, context)
    second, *_ = trained(Path(scratch) / "second")
    with storage.read_from(resource) as directory:
        files = sorted(p.name for p in directory.iterdir())
    held_out = (
        load_data("tests/nlu/test_nlu.yml").intent_examples + load_data("tests/nlu/test_nlu_unseen.yml").intent_examples
    )
    texts = [m.get("text") for m in held_out] + TEXTS
    own = np.vstack([loaded.scores(t) for t in texts])
    sklearn = np.asarray(loaded._features(texts) @ loaded.weights.T + loaded.bias)
    out = {
        "compared": len(texts),
        "max_difference": float(np.abs(own - sklearn).max()),
        "same_best": bool((own.argmax(axis=1) == sklearn.argmax(axis=1)).all()),
        "trained": parses(first),
        "loaded": parses(loaded),
        "same_weights_twice": bool(np.array_equal(first.weights, second.weights)),
        "classes": len(first.classes),
        "files": files,
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
