"""`make nlu-report`: how well the NLU generalises, written to docs/nlu-report/.

Three measurements, each with Rasa's own reports (JSON, confusion matrix, histogram):
  docs/nlu-report/                   the first held-out set, tests/nlu/test_nlu.yml
  docs/nlu-report/unseen/            the second held-out set, tests/nlu/test_nlu_unseen.yml
                                     (styles the training data lacks)
  docs/nlu-report/cross-validation/  5-fold cross-validation over data/nlu (5 trainings, two at a
                                     time: scripts/nlu_cv.py; slow)
and docs/nlu-report/summary.md with the intent F1 of each. `--skip-cv` leaves the last
cross-validation result in place. Exit status 1 when a figure is below --min (0.93).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import launcher  # noqa: E402
from bot.settings import load  # noqa: E402
from scripts import nlu_cv  # noqa: E402

REPORT = ROOT / "docs" / "nlu-report"
SETS = {"held-out": ("tests/nlu/test_nlu.yml", REPORT), "unseen": ("tests/nlu/test_nlu_unseen.yml", REPORT / "unseen")}
CV_DIR = REPORT / "cross-validation"
FOLDS = nlu_cv.FOLDS
CV_WORK = ROOT / "results" / "nlu-cv"  # the folds' data, models and reports (ignored by git)
CV_JOBS = 2  # folds trained at the same time: one DIET training keeps about one core busy


def weighted_f1(out: Path) -> float:
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    return report["weighted avg"]["f1-score"]


def evaluate(model: Path, nlu: str, out: Path) -> float:
    out.mkdir(parents=True, exist_ok=True)
    nlu_cv.rasa("test", "nlu", "--model", str(model), "--nlu", nlu, "--out", str(out))
    return weighted_f1(out)


def cross_validate() -> float:
    """The five folds side by side (scripts/nlu_cv.py), pooled into docs/nlu-report/cross-validation/."""
    with ThreadPoolExecutor(max_workers=CV_JOBS) as pool:
        list(pool.map(lambda k: nlu_cv.run_fold(CV_WORK, k), range(1, FOLDS + 1)))
    score = nlu_cv.pool(CV_WORK)
    CV_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("intent_report.json", "intent_errors.json", "folds.json"):
        shutil.copyfile(CV_WORK / name, CV_DIR / name)
    return score


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-cv", action="store_true", help="no cross-validation (5 trainings)")
    ap.add_argument(
        "--only-cv", action="store_true", help="only the cross-validation (then --skip-cv writes the summary)"
    )
    ap.add_argument("--min", type=float, default=0.93)
    args = ap.parse_args()
    if args.only_cv:
        score = cross_validate()
        print(f"cross-validation: intent F1 {score:.3f}")
        return 0 if score >= args.min else 1

    model = launcher.ensure_model(load())
    scores = {name: evaluate(model, nlu, out) for name, (nlu, out) in SETS.items()}
    if not args.skip_cv:
        scores["cross-validation"] = cross_validate()
    elif (CV_DIR / "intent_report.json").exists():
        scores["cross-validation"] = weighted_f1(CV_DIR)
    folds = {}
    if (CV_DIR / "folds.json").exists():
        folds = json.loads((CV_DIR / "folds.json").read_text(encoding="utf-8"))

    lines = [
        "# NLU report",
        "",
        f"Written by `make nlu-report` on {dt.date.today().isoformat()} for model "
        f"`{model.name}`. Intent F1 is the weighted average over the intents.",
        "",
        "| measurement | data | intent F1 | reports |",
        "|---|---|---|---|",
        f"| held-out set | `tests/nlu/test_nlu.yml` | {scores['held-out']:.3f} | this folder |",
        f"| second held-out set: styles the training data lacks | `tests/nlu/test_nlu_unseen.yml` "
        f"| {scores['unseen']:.3f} | [unseen/](unseen/) |",
    ]
    if "cross-validation" in scores:
        fold = folds.get("F1-score")
        spread = f" (mean of the folds {fold['mean']:.3f} ± {fold['std']:.3f})" if fold else ""
        lines.append(
            f"| {FOLDS}-fold cross-validation | `data/nlu` | "
            f"{scores['cross-validation']:.3f}{spread} | [cross-validation/](cross-validation/) |"
        )
        if (CV_DIR / "README.md").exists():
            lines += [
                "",
                "Why the cross-validation differs from the held-out sets, and what would raise "
                "it: [cross-validation/README.md](cross-validation/README.md).",
            ]
    else:
        lines.append(
            f"| {FOLDS}-fold cross-validation | `data/nlu` | not run yet (`make nlu-report` without `--skip-cv`) | |"
        )
    lines += [
        "",
        "Each folder has `intent_report.json`, `intent_errors.json` and the confusion "
        "matrix `intent_confusion_matrix.png`. The second held-out set is never used for "
        "training (`tests/unit/test_training_data.py` checks that no sentence is shared).",
        "",
        'Since issue 12 an elliptical follow-up such as "en Haarlem?" has its own intent, '
        "`inform_plaats` (answered with the last place topic, or the areas answer); the one "
        "such line of the second set was relabelled from `faq_gebieden` accordingly.",
    ]
    (REPORT / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, score in scores.items():
        print(f"{name}: intent F1 {score:.3f}")
    return 0 if all(s >= args.min for s in scores.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
