"""Every held-out parse and a conversation's predicted actions from the trained model, loaded
by Rasa's own code ("plain") or with the model patches ("fast": fast load, direct predict,
one-step feature join, sequential graph runner), and the process's memory. Arguments: the JSON
output path, the model, the mode, the held-out NLU files."""

import asyncio
import gc
import json
import sys

from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.tensorflow.models import RasaModel

import model_patches

EXTRA = ["blorp fnerk", "<b>vet?</b>", "x" * 3000, "KW-2025-0047 en code KPWE-W7TV", "Arnhem?"]
DIALOGUE = [
    "hoi",
    "wanneer is de deadline",
    "welke gebieden doen mee",
    "Arnhem",
    "ik wil een mens spreken",
    "wat is de status van mijn aanvraag",
    "KW-2025-0047",
    "stop",
    "blorp fnerk",
    "dank je",
]


async def parses(agent: Agent, texts: list) -> list:
    out = []
    for text in texts:
        parse = await agent.parse_message(text)
        out.append(
            [
                text,
                parse["intent"],
                parse.get("intent_ranking"),
                [[e["entity"], e["value"], e["start"], e["end"]] for e in parse["entities"]],
            ]
        )
    return out


async def dialogue(agent: Agent) -> list:
    """The policies' graph too: the actions predicted along a conversation, with the policy and
    confidence of each (actions are not run: there is no action server here)."""
    tracker = DialogueStateTracker.from_events(
        "d",
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        agent.domain.slots,
    )
    out = []
    for text in DIALOGUE:
        parse = await agent.parse_message(text)
        tracker.update(UserUttered(text, parse["intent"], parse["entities"], parse), agent.domain)
        for _ in range(4):
            prediction = agent.processor._predict_next_with_tracker(tracker)
            name = agent.domain.action_names_or_texts[prediction.max_confidence_index]
            out.append([name, prediction.policy_name, prediction.max_confidence])
            tracker.update(ActionExecuted(name, prediction.policy_name, prediction.max_confidence), agent.domain)
            if name == "action_listen":
                break
    return out


def rss_mb() -> int:
    with open("/proc/self/status", encoding="utf-8") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) // 1024


def main(out_path: str, model: str, mode: str, *held_out: str) -> None:
    if mode == "fast":
        model_patches.install_fast_model_load()
        model_patches.install_direct_predict()
        model_patches.install_one_step_feature_join()
        model_patches.install_sequential_graph_runner()
    texts = [m.get("text") for path in held_out for m in load_data(path).intent_examples] + EXTRA
    agent = Agent.load(model)
    result = {"parses": asyncio.run(parses(agent, texts)), "dialogue": asyncio.run(dialogue(agent)), "rss_mb": rss_mb()}
    # Whether DIET's predictions went straight to the traced graph (install_direct_predict).
    result["direct"] = any("_kw_direct" in o.__dict__ for o in gc.get_objects() if isinstance(o, RasaModel))
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
