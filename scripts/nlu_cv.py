"""5-fold cross-validation of the NLU with the folds trained side by side.

`rasa test nlu --cross-validation` trains its folds one after the other in one process. On this
machine a DIET training keeps about one core busy, so the folds run in parallel processes here
(`--jobs`, default 2), each a plain `rasa train nlu` on four fifths of data/nlu and `rasa test nlu`
on the last fifth. The split is stratified by intent and fixed (seeded), so a fold can be run
alone (`--fold 3`), a fold already on disk for the same training inputs is not trained again, and
the pooled report is written from the five folds on disk (`--pool`).

The pooled report is what Rasa's cross-validation reports too: every example is predicted once,
by the fold that did not train on it, and the intent F1 is weighted by support over all of them.
Written to the output folder: intent_report.json, intent_errors.json, folds.json (mean and spread
of the folds' own weighted F1), per fold under fold-N/.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import launcher  # noqa: E402
from bot.settings import load  # noqa: E402

FOLDS = 5
SEED = 20
NLU_DIR = ROOT / "data" / "nlu"


def _examples(block: str) -> list[str]:
    return [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]


def read_training_data() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Everything that is not an intent's examples (regexes, lookups, synonyms), and the examples."""
    other: list[dict[str, Any]] = []
    intents: dict[str, list[str]] = {}
    for path in sorted(NLU_DIR.rglob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in item:
                intents.setdefault(item["intent"], []).extend(_examples(item["examples"]))
            else:
                other.append(item)
    return other, intents


def split(intents: dict[str, list[str]], folds: int = FOLDS) -> list[dict[str, list[str]]]:
    """Stratified: each intent's examples, shuffled with a fixed seed, dealt round the folds."""
    parts: list[dict[str, list[str]]] = [{} for _ in range(folds)]
    for intent, examples in sorted(intents.items()):
        shuffled = list(examples)
        random.Random(f"{SEED}:{intent}").shuffle(shuffled)
        for i, example in enumerate(shuffled):
            parts[i % folds].setdefault(intent, []).append(example)
    return parts


def _write(path: Path, other: list[dict[str, Any]], intents: dict[str, list[str]]) -> None:
    items = [*other, *({"intent": k, "examples": "".join(f"- {e}\n" for e in v)} for k, v in intents.items())]
    path.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": items}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


# TensorFlow's thread pools in one training keep 2 cores about 1.6 busy (16 s an epoch here);
# two trainings of one thread each (21 s an epoch) get 1.6 times the work done in the same time.
ONE_THREAD = {"TF_INTER_OP_PARALLELISM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1"}


def rasa(*args: str, single_thread: bool = False) -> None:
    """Rasa's command line in the Rasa runtime; a failure ends the run with Rasa's own error."""
    settings = load()
    result = subprocess.run(
        [launcher.rasa_bin(settings), *args],
        cwd=ROOT,
        env=launcher.child_env(settings) | (ONE_THREAD if single_thread else {}),
        capture_output=True,
        text=True,
        timeout=4 * 3600,
    )
    if result.returncode != 0:
        raise SystemExit(f"rasa {' '.join(args[:2])} failed:\n{result.stderr[-3000:]}")


def fingerprint() -> str:
    """The training inputs' fingerprint (data, config, domain, pipeline): a fold is reused only for it."""
    return launcher.fingerprint(load())


def run_fold(out: Path, k: int) -> None:
    fold = out / f"fold-{k}"
    stamp = fold / "fingerprint.txt"
    if (
        (fold / "report" / "intent_successes.json").exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8").strip() == fingerprint()
    ):
        return  # this fold of these very inputs is on disk already
    other, intents = read_training_data()
    parts = split(intents)
    fold.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    train: dict[str, list[str]] = {}
    for i, part in enumerate(parts):
        if i != k - 1:
            for intent, examples in part.items():
                train.setdefault(intent, []).extend(examples)
    _write(fold / "train.yml", other, train)
    _write(fold / "test.yml", [], parts[k - 1])
    rasa(
        "train",
        "nlu",
        "--config",
        "config.yml",
        "--nlu",
        str(fold / "train.yml"),
        "--out",
        str(fold),
        "--fixed-model-name",
        "model",
        single_thread=True,
    )
    rasa(
        "test",
        "nlu",
        "--model",
        str(fold / "model.tar.gz"),
        "--nlu",
        str(fold / "test.yml"),
        "--out",
        str(fold / "report"),
        "--successes",
    )
    stamp.write_text(fingerprint() + "\n", encoding="utf-8")


def _pairs(report: Path) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    errors = json.loads((report / "intent_errors.json").read_text(encoding="utf-8"))
    successes = json.loads((report / "intent_successes.json").read_text(encoding="utf-8"))
    pairs = [(e["intent"], e["intent_prediction"]["name"]) for e in [*errors, *successes]]
    return pairs, errors


def scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Per intent precision, recall, F1 and support; their support-weighted averages; accuracy."""
    support = Counter(t for t, _ in pairs)
    predicted = Counter(p for _, p in pairs)
    correct = Counter(t for t, p in pairs if t == p)
    report: dict[str, Any] = {}
    for intent in sorted(support):
        precision = correct[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = correct[intent] / support[intent]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[intent] = {"precision": precision, "recall": recall, "f1-score": f1, "support": support[intent]}
    total = sum(support.values())
    report["weighted avg"] = {
        m: sum(report[i][m] * support[i] for i in support) / total for m in ("precision", "recall", "f1-score")
    } | {"support": total}
    report["accuracy"] = sum(correct.values()) / total
    return report


def pool(out: Path) -> float:
    current = fingerprint()
    reports = [
        out / f"fold-{k}" / "report"
        for k in range(1, FOLDS + 1)
        if (out / f"fold-{k}" / "fingerprint.txt").exists()
        and (out / f"fold-{k}" / "fingerprint.txt").read_text(encoding="utf-8").strip() == current
    ]
    if len(reports) != FOLDS:
        raise SystemExit(f"{len(reports)} of {FOLDS} folds of the current training inputs in {out}: run the others")
    all_pairs: list[tuple[str, str]] = []
    all_errors: list[dict[str, Any]] = []
    per_fold: list[dict[str, Any]] = []
    for report in reports:
        pairs, errors = _pairs(report)
        all_pairs += pairs
        all_errors += errors
        per_fold.append(scores(pairs))
    pooled = scores(all_pairs)
    (out / "intent_report.json").write_text(json.dumps(pooled, indent=2) + "\n", encoding="utf-8")
    (out / "intent_errors.json").write_text(
        json.dumps(all_errors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    folds = {
        name: {"mean": round(statistics.mean(v), 3), "std": round(statistics.pstdev(v), 3)}
        for name, v in (
            ("Accuracy", [f["accuracy"] for f in per_fold]),
            ("F1-score", [f["weighted avg"]["f1-score"] for f in per_fold]),
            ("Precision", [f["weighted avg"]["precision"] for f in per_fold]),
        )
    }
    (out / "folds.json").write_text(json.dumps(folds, indent=2) + "\n", encoding="utf-8")
    return float(pooled["weighted avg"]["f1-score"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "nlu-cv")
    ap.add_argument("--jobs", type=int, default=2, help="folds trained at the same time")
    ap.add_argument("--fold", type=int, action="append", help="run only this fold (1-5; repeatable)")
    ap.add_argument("--pool", action="store_true", help="only pool the folds already on disk")
    args = ap.parse_args()
    if not args.pool:
        folds = args.fold or list(range(1, FOLDS + 1))
        with ThreadPoolExecutor(max_workers=args.jobs) as pool_:
            list(pool_.map(lambda k: run_fold(args.out, k), folds))
        if args.fold:
            return 0
    print(f"cross-validation ({FOLDS} folds): intent F1 {pool(args.out):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
