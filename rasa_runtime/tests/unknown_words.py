"""Parses of gibberish, real words, a place name and codes by the trained model with the
unknown-words fallback (model_patches.install_unknown_words_fallback), and the guard alone on a
confident message whose words are all unknown. Arguments: the JSON output path, the model."""

import asyncio
import json
import sys

from rasa.core.agent import Agent
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message

import model_patches

TEXTS = ["blorp fnerk", "xqzt vlorp", "blubber de blub", "zzzz", "Arnhem?", "hoi", "wat is de deadline", "KW-2025-0047"]
FORCED = ["blorp fnerk", "KPWE-W7TV", "kpwe w7tv"]


def forced(classifier: FallbackClassifier, text: str) -> bool:
    message = Message(
        {
            "text": text,
            "intent": {"name": "greet", "confidence": 0.99},
            "intent_ranking": [{"name": "greet", "confidence": 0.99}],
            model_patches.KNOWN_WORDS: 0,
        }
    )
    return classifier._should_fallback(message)


def main(out_path: str, model: str) -> None:
    model_patches.install_unknown_words_fallback()
    agent = Agent.load(model)

    async def intents() -> dict:
        return {t: (await agent.parse_message(t))["intent"]["name"] for t in TEXTS}

    classifier = FallbackClassifier({"threshold": 0.45, "ambiguity_threshold": 0.05})
    out = {"intents": asyncio.run(intents()), "forced": {t: forced(classifier, t) for t in FORCED}}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
