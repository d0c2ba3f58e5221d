# Two commands do everything on a fresh machine:
#   make run    set up, train when needed, start all processes (Ctrl-C stops them)
#   make test   set up, train once, run every test (CI: .ci/run)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# spaCy's Dutch pipeline is published on spaCy's release page, not on PyPI; where that is not
# reachable, `python -m bot prepare-nlp` builds the local Dutch fallback pipeline instead.
# A government service sends nothing out; TensorFlow's start-up chatter hides real errors.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

NL_MODEL_URL := https://github.com/explosion/spacy-models/releases/download/nl_core_news_sm-3.4.0/nl_core_news_sm-3.4.0-py3-none-any.whl

.PHONY: run test setup train validate clean nlu-report

$(STAMP): requirements.lock scripts/python310.sh
	@PY310=$$(scripts/python310.sh) && echo "Python 3.10: $$PY310" && \
	  rm -rf $(VENV) && $$PY310 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	$(PY) -m pip install --quiet --no-deps -r requirements.lock
	$(PY) -m pip check
	@$(PY) -m pip install --quiet --no-deps --timeout 10 --retries 0 "$(NL_MODEL_URL)" 2>/dev/null \
	  && echo "nl_core_news_sm 3.4.0 geïnstalleerd" \
	  || echo "nl_core_news_sm niet bereikbaar: de lokale Nederlandse pijplijn wordt gebruikt"
	touch $(STAMP)

setup: $(STAMP)
	$(PY) -m bot prepare-nlp

run: setup
	$(PY) -m bot run

train: setup
	$(PY) -m bot train

test: setup
	scripts/ensure-browser.sh
	$(PY) -m bot train
	$(PY) -m pytest tests

# Held-out NLU sets and 5-fold cross-validation into docs/nlu-report/ (5 extra trainings: slow).
nlu-report: setup
	$(PY) scripts/nlu_report.py

clean:
	rm -rf $(VENV) models var results .pytest_cache
