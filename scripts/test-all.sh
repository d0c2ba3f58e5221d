#!/usr/bin/env bash
# `make test`'s tests, in two phases that overlap the model's training:
#   1. the model trains in the background (only when its inputs changed: bot/launcher.py) while
#      the tier that needs no model runs (the same tier as `make test-fast`: KW_DEV_MODEL names
#      a file that does not exist, so nothing in it can train or wait for the model);
#   2. when the training is done, every other test (Rasa, browser, cluster, slow).
# Training keeps about 1.6 of 2 cores busy here for 12 to 20 minutes; the tier without a model
# fills the rest instead of running after it. Training runs at a lower priority, so the tests'
# own timeouts are not stretched by it. Every test of the suite runs in exactly one phase, and
# the exit status is non-zero if either phase failed (both always run, so one run shows all).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv-app/bin/python
FAST_TIER="${FAST_TIER:-not rasa and not browser and not cluster and not slow}"
mkdir -p results
train_log=results/train.log
nice -n 10 "$PY" -m bot train >"$train_log" 2>&1 &
trainer=$!
KW_DEV_MODEL="$PWD/models/geen-model-in-test-fast.tar.gz" "$PY" -m pytest -m "$FAST_TIER" tests
fast=$?
if ! wait "$trainer"; then
  cat "$train_log"
  echo "De training is mislukt (zie hierboven); de tests met een model zijn niet gedraaid." >&2
  exit 1
fi
tail -n 3 "$train_log"
"$PY" -m pytest -m "not ($FAST_TIER)" --durations=20 tests
rest=$?
[ "$fast" -eq 0 ] && [ "$rest" -eq 0 ]
