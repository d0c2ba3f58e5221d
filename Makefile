# Two commands do everything on a fresh machine:
#   make run    set up, train when needed, start all processes (Ctrl-C stops them)
#   make test   set up, check, train once, run every test (CI: .ci/run)
# and two are the inner loop (README, "Checks and test tiers"):
#   make check      lint, format and types (ruff, mypy; settings in pyproject.toml)
#   make test-fast  every test that needs no trained model, browser or cluster
SHELL := /bin/bash
# Two runtimes (../shared/DESIGN.md, "Two runtimes"): Rasa 3.6.21 alone on Python 3.10 in
# .venv-rasa; everything of ours (gateway, console, API, actions, CLI, tests) on Python 3.12+
# with current libraries in .venv-app. Each is installed from its own lock file.
RASA_VENV := .venv-rasa
APP_VENV := .venv-app
PY := $(APP_VENV)/bin/python
RASA_PY := $(RASA_VENV)/bin/python
RASA_STAMP := $(RASA_VENV)/.installed
APP_STAMP := $(APP_VENV)/.installed
# spaCy's Dutch pipeline is published on spaCy's release page, not on PyPI; where that is not
# reachable, `python -m bot prepare-nlp` builds the local Dutch fallback pipeline instead.
# A government service sends nothing out; TensorFlow's start-up chatter hides real errors.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

NL_MODEL_URL := https://github.com/explosion/spacy-models/releases/download/nl_core_news_sm-3.4.0/nl_core_news_sm-3.4.0-py3-none-any.whl

.PHONY: run test test-fast check setup train validate clean docs nlu-report

$(RASA_STAMP): requirements/rasa.lock scripts/find-python.sh
	@PY310=$$(scripts/find-python.sh 3.10) && echo "Rasa-runtime, Python 3.10: $$PY310" && \
	  rm -rf $(RASA_VENV) && $$PY310 -m venv $(RASA_VENV)
	$(RASA_PY) -m pip install --quiet --upgrade "pip==24.0"
	$(RASA_PY) -m pip install --quiet --no-deps -r requirements/rasa.lock
	$(RASA_PY) -m pip check
	@$(RASA_PY) -m pip install --quiet --no-deps --timeout 10 --retries 0 "$(NL_MODEL_URL)" 2>/dev/null \
	  && echo "nl_core_news_sm 3.4.0 geïnstalleerd" \
	  || echo "nl_core_news_sm niet bereikbaar: de lokale Nederlandse pijplijn wordt gebruikt"
	touch $(RASA_STAMP)

$(APP_STAMP): requirements/app.lock scripts/find-python.sh
	@PYAPP=$$(scripts/find-python.sh 3.12 3.13) && echo "App-runtime: $$PYAPP" && \
	  rm -rf $(APP_VENV) && $$PYAPP -m venv $(APP_VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	$(PY) -m pip install --quiet --no-deps -r requirements/app.lock
	$(PY) -m pip check
	touch $(APP_STAMP)

setup: $(RASA_STAMP) $(APP_STAMP)
	$(PY) -m bot prepare-nlp
	$(PY) -m bot build-widget

run: setup
	$(PY) -m bot run

# The production topology on this machine: two gateways, two Rasa replicas and two action
# servers behind HAProxy, PostgreSQL and Redis (bot/cluster.py; deploy/ for containers).
.PHONY: run-cluster
run-cluster: setup
	scripts/ensure-haproxy.sh
	scripts/ensure-services.sh
	$(PY) -m bot run-cluster

# The cluster's fault tests alone (they are part of `make test` too): a quick way to repeat
# them after a change to the cluster, the gateway's recovery or rasa_runtime/serve.py.
.PHONY: chaos
chaos: setup
	scripts/ensure-haproxy.sh
	$(PY) -m bot train
	$(PY) -m pytest tests/integration/test_cluster_faults.py

train: setup
	$(PY) -m bot train

# The static checks need only the app runtime. ruff reads every Python file (rasa_runtime/ as
# Python 3.10); mypy our runtime's code (pyproject.toml says which parts are strict). All three
# run, so one pass shows every finding; any finding fails the target.
check: $(APP_STAMP)
	@ok=0; \
	echo "ruff check ."; $(APP_VENV)/bin/ruff check . || ok=1; \
	echo "ruff format --check ."; $(APP_VENV)/bin/ruff format --check . || ok=1; \
	echo "mypy"; $(APP_VENV)/bin/mypy || ok=1; \
	exit $$ok

# The whole suite, after the checks: a change that does not pass them is not tested further.
# scripts/test-all.sh runs the tier without a model while the model trains, then the rest.
test: setup check
	scripts/ensure-browser.sh
	scripts/ensure-haproxy.sh
	scripts/ensure-prometheus.sh
	scripts/ensure-services.sh
	FAST_TIER="$(FAST_TIER)" scripts/test-all.sh

# The inner loop: every test that needs no trained model, no browser and no cluster (markers set
# by conftest.py from what a test uses; pytest.ini lists them). It still uses PostgreSQL and
# Redis on 127.0.0.1, HAProxy's and promtool's config checks and the Rasa runtime's version
# guard. It never trains: KW_DEV_MODEL names a model that does not exist, so a test that needs
# one and is not marked fails at once, naming that file, instead of starting a training.
# It needs the two runtimes and the built widget, not the Dutch pipeline (only a model uses it).
# pytest-xdist runs it on every core, each test file on one worker, so a file's module fixtures
# start once; the tests hold no state between files (own ports, tmp dirs, databases). `make test`
# stays in one process: its session fixtures start Rasa, which one worker per core would repeat.
FAST_TIER := not rasa and not browser and not cluster and not slow
test-fast: $(RASA_STAMP) $(APP_STAMP)
	$(PY) -m bot build-widget
	scripts/ensure-haproxy.sh
	scripts/ensure-prometheus.sh
	scripts/ensure-services.sh
	KW_DEV_MODEL=$(CURDIR)/models/geen-model-in-test-fast.tar.gz \
	  $(PY) -m pytest -n auto --dist loadfile -m "$(FAST_TIER)" tests

# Product against stock Rasa on the same model, one stack after the other (about 10 minutes on
# 2 cores; not part of `make test`). Figures: docs/performance.md; output: results/bench/.
# Pass options through, e.g. make bench BENCH_ARGS="--users 1,10 --stacks product".
.PHONY: bench
bench: setup
	$(PY) -m bench $(BENCH_ARGS)

# The product under steady load with new conversations all the time, memory per process sampled;
# fails when a process keeps growing after warm-up (bench/soak.py has the rule). 30 minutes at
# 20 users by default; a 2-minute version runs in `make test` (tests/integration/test_soak.py).
# Figures: docs/performance.md; output: results/soak/. E.g. make soak SOAK_ARGS="--minutes 10".
.PHONY: soak
soak: setup
	$(PY) -m bench.soak $(SOAK_ARGS)

# Held-out NLU sets and 5-fold cross-validation into docs/nlu-report/ (5 extra trainings: slow).
nlu-report: setup
	$(PY) scripts/nlu_report.py

clean:
	rm -rf $(RASA_VENV) $(APP_VENV) models var results .pytest_cache .mypy_cache .ruff_cache

# `make test` writes reports and screenshots only to the ignored results/ folder, so the work tree
# stays clean; this refreshes the committed copies in docs/ on purpose.
docs:
	@test -d results/nlu-report || { echo "Eerst make test draaien (results/ ontbreekt)."; exit 1; }
	mkdir -p docs/nlu-report docs/screenshots
	cp results/nlu-report/*.json results/nlu-report/*.png docs/nlu-report/
	mkdir -p docs/nlu-report/unseen
	cp results/nlu-report/unseen/*.json results/nlu-report/unseen/*.png docs/nlu-report/unseen/
	cp results/screenshots/*.png docs/screenshots/
	$(PY) scripts/conversation_docs.py

