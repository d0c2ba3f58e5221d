"""Several Rasa workers on one machine, forked from one process that loaded the heavy parts once.

Rasa runs all its Python on one event loop under one interpreter lock, so one Rasa process uses
one core whatever the machine has (py-spy under load: Rasa at 0.98 of a core, the rest idle;
docs/performance.md). A second ``rasa run`` would use the second core but would load
TensorFlow, spaCy's Dutch pipeline and Rasa all over again: about 0.86 GB per process.

Here the parent imports Rasa and TensorFlow, loads the spaCy pipeline (its lookup lemmatizer
alone is 120 MB of Python dicts) and creates the tracker store's tables, and then forks one
worker per port. The workers share those pages with the parent until they write to them
(``gc.freeze`` keeps the collector from touching them); each loads the trained model itself and
serves on its own port (``--port``, ``--port`` + 1, …).

- **TensorFlow is not fork-safe once it has run an operation** (its thread pools do not survive
  a fork), so the parent only imports it; every worker starts its own runtime when it loads
  DIET. ``preload`` must never run a TensorFlow operation.
- **Which worker serves a conversation** is the gateway's choice (bot/web/rasa.py: a hash of the
  sender), so one conversation always reaches the same worker and Rasa's in-memory lock store
  still orders its turns. Several workers need no Redis.
- **The parent supervises**: a worker that dies is forked again from the loaded parent after a
  backoff, in seconds rather than a cold start; SIGTERM or SIGINT stops every worker, and a
  worker stops by itself when the parent dies (``PR_SET_PDEATHSIG``), so no port is left held.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

#: Seconds before a dead worker is forked again; doubled after each quick death up to the max.
#: The launcher's values (bot/launcher.py), which this runtime cannot import.
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
#: A worker that ran this long starts its backoff anew.
STABLE_S = 60.0
#: How often the parent looks for dead workers and due restarts.
SUPERVISE_S = 0.5
#: Seconds a worker gets to stop after SIGTERM before it is killed.
STOP_GRACE_S = 15.0

PR_SET_PDEATHSIG = 1


class Stop(Exception):
    """SIGTERM or SIGINT reached the parent."""


def option(argv: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in ``argv``."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return None


def with_port(argv: list[str], port: int) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--port":
            skip = True
            continue
        if not arg.startswith("--port="):
            out.append(arg)
    return [*out, "--port", str(port)]


def spacy_model_name(config: Path) -> str | None:
    """The spaCy pipeline SpacyNLP loads, from the training config (None without one)."""
    import yaml

    try:
        pipeline = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline") or []
    except (OSError, yaml.YAMLError):
        return None
    for component in pipeline:
        if isinstance(component, dict) and component.get("name") == "SpacyNLP":
            return component.get("model")
    return None


def preload_spacy(name: str) -> None:
    """Load the pipeline now and hand the same object to SpacyNLP's ``spacy.load`` later, in
    every worker; any other load goes to spaCy as before."""
    import spacy

    plain_load = spacy.load
    key = (os.path.realpath(name), ("parser",))
    nlp = plain_load(name, disable=["parser"])  # exactly SpacyNLP's call

    def load(model_name, *args, **kwargs):
        disable = tuple(kwargs.get("disable") or ())
        if (
            not args
            and set(kwargs) <= {"disable"}
            and isinstance(model_name, (str, Path))
            and (os.path.realpath(model_name), disable) == key
        ):
            return nlp
        return plain_load(model_name, *args, **kwargs)

    spacy.load = load


def prepare_tracker_store(endpoints: str | None) -> None:
    """Create the tracker store's tables once, so the workers do not race to create them."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints

    config = AvailableEndpoints.read_endpoints(endpoints).tracker_store if endpoints else None
    store = TrackerStore.create(config)
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose()  # no connection may cross the fork


def preload(argv: list[str]) -> None:
    """What every worker needs and nothing that starts TensorFlow's runtime."""
    # Imported to be loaded once, here, and shared with every worker: Rasa's CLI (with Sanic and
    # the server), the agent, the components of the pipeline and policies (DIET imports
    # TensorFlow), spaCy's wrapper and scikit-learn (the intent classifier,
    # rasa_runtime/linear_intents.py: Rasa imports it by that name when it loads the model, and
    # the repository need not be on the path yet here, as in the container).
    import rasa.__main__
    import rasa.core.agent
    import rasa.core.policies.rule_policy
    import rasa.core.run
    import rasa.nlu.classifiers.diet_classifier
    import rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer
    import rasa.nlu.featurizers.sparse_featurizer.lexical_syntactic_featurizer
    import rasa.nlu.featurizers.sparse_featurizer.regex_featurizer
    import rasa.nlu.utils.spacy_utils  # noqa: F401
    import sklearn.feature_extraction.text
    import sklearn.svm  # noqa: F401

    name = spacy_model_name(Path("config.yml"))
    if name:
        preload_spacy(name)
    prepare_tracker_store(option(argv, "--endpoints"))
    gc.collect()
    gc.freeze()  # the collector would otherwise write to every shared object's page


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the launcher's process-group kill still stops the workers


class Workers:
    """The parent's view of its workers: fork, reap, restart with backoff, stop."""

    def __init__(self, argv: list[str], count: int, run: Callable[[list[str]], None]):
        self.base_port = int(option(argv, "--port") or 5005)
        self.argv = argv
        self.run = run
        self.pids: dict[int, int] = {}  # pid -> worker index
        self.started: dict[int, float] = {}
        self.backoff = [MIN_BACKOFF_S] * count
        self.restart_at: dict[int, float] = {}

    def spawn(self, index: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent()
                if os.getppid() != parent:  # the parent died before the line above
                    os._exit(1)
                self.run(with_port(self.argv, self.base_port + index))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.pids[pid] = index
        self.started[index] = time.monotonic()
        print(f"Rasa-worker {index + 1} gestart op poort {self.base_port + index} (pid {pid})", flush=True)

    def supervise_once(self, now: float) -> None:
        while self.pids:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            index = self.pids.pop(pid, None)
            if index is None:
                continue
            if now - self.started[index] > STABLE_S:
                self.backoff[index] = MIN_BACKOFF_S
            wait = self.backoff[index]
            self.backoff[index] = min(MAX_BACKOFF_S, wait * 2)
            self.restart_at[index] = now + wait
            print(
                f"Rasa-worker {index + 1} is gestopt (status {status}); opnieuw over {wait:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        for index, due in list(self.restart_at.items()):
            if now >= due:
                del self.restart_at[index]
                self.spawn(index)

    def stop(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        while self.pids and time.monotonic() < deadline:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid:
                self.pids.pop(pid, None)
            else:
                time.sleep(0.05)  # polling a child's exit, bounded by the grace period
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.pids.clear()


def serve(argv: list[str], count: int, run: Callable[[list[str]], None]) -> int:
    """Preload, fork ``count`` workers and supervise them until SIGTERM or SIGINT."""

    def stop(_signum, _frame):
        raise Stop()

    preload(argv)
    workers = Workers(argv, count, run)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for index in range(count):
            workers.spawn(index)
        while True:
            workers.supervise_once(time.monotonic())
            time.sleep(SUPERVISE_S)  # supervision interval
    except Stop:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        workers.stop()
