# syntax=docker/dockerfile:1
# The app runtime (../shared/DESIGN.md, "Two runtimes"): everything of ours on Python 3.12 with
# current libraries. One image, three uses, chosen by the command:
#   python -m bot.web                                   the gateway (the only public process)
#   python -m bot.action_server --port 5055             the action server (rasa-sdk, one process)
#   python -m bot db-upgrade                            the migration (one-shot, before the rest)
# Build from the repository root (BuildKit reads deploy/Dockerfile.app.dockerignore):
#   docker build -f deploy/Dockerfile.app -t kw-app:$(git rev-parse --short HEAD) .
FROM python:3.12-slim

# KW_ENV=production by default: an image never runs with generated secrets or demo accounts
# (bot/settings.py refuses to start without every secret in the environment).
# KW_VAR_DIR: nothing of ours writes there in production (no generated secrets, logs go to
# stdout); /tmp/kw so that a stray write lands in the pod's scratch space, never in /app.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KW_ENV=production \
    KW_VAR_DIR=/tmp/kw

WORKDIR /app

# The lock first, so a code change does not reinstall the dependencies. Same steps as the
# Makefile's app runtime: the pinned pip, --no-deps from the lock, then pip check.
COPY requirements/app.lock requirements/app.lock
RUN python -m pip install "pip==24.0" \
 && python -m pip install --no-deps -r requirements/app.lock \
 && python -m pip check

# bot/ (library, gateway, migrations, knowledge base), actions/ (rasa-sdk actions),
# rasa_runtime/ (bot.nlp_pipeline imports its identity helper, and the CLI imports that),
# data/nlu/ (the second-chance retrieval and the place names read the training examples).
COPY bot/ bot/
COPY actions/ actions/
COPY rasa_runtime/ rasa_runtime/
COPY data/nlu/ data/nlu/
COPY deploy/app/ deploy/app/

# widget.js is built, not in git. Built here, so the gateway serves it from a read-only file
# system (ensure_built() at start then finds it current). Called directly, not through
# `python -m bot build-widget`: the CLI loads the settings first, which in a build without
# secrets would fail (production) or write generated ones into the image (demo).
RUN python -c "from bot.web import widget_build; widget_build.build()" \
 && python -m compileall -q bot actions

# An unprivileged user with no home and no shell: the processes only read /app.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin kw
USER 10001

EXPOSE 8080 5055
# The gateway by default; compose and Kubernetes set the command for the other two uses.
CMD ["python", "-m", "bot.web"]
