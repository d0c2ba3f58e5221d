"""pytest's root conftest: it puts the repository on sys.path, loads the shared fixtures and sorts
every test into its tiers (pytest.ini lists the markers; README, "Checks and test tiers", says
which tier to run when).

A test is marked by what it needs, found from where it lives and what it uses, so test files
carry no tier markers and a new test is sorted like its neighbours:

- its directory (tests/browser: chromium);
- the fixtures it uses, directly or through other fixtures (``item.fixturenames`` is the whole
  closure): the fixtures that start Rasa, the cluster, a browser or a Redis server;
- the code it runs: the test function, the fixtures defined in its module and the module's own
  helper functions they call, when they ask for the trained model themselves
  (``launcher.model_path``/``ensure_model``, ``start_stack``), run Rasa's command line or a
  script inside the Rasa runtime (slow), or start a PostgreSQL or Redis of their own;
- a short list of tests that start the product through another module's code.

A miss cannot train by accident: `make test-fast` points KW_DEV_MODEL at a model that does not
exist, so an unmarked test that needs one fails at once with a message that names it.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.databases"]

ROOT = Path(__file__).resolve().parent

#: Directories whose every test needs something (relative to the repository).
DIRECTORY_MARKS: dict[str, set[str]] = {
    "tests/browser": {"browser"},
}

#: Fixtures by name, wherever defined, and what a test that uses them needs.
FIXTURE_MARKS: dict[str, set[str]] = {
    # tests/conftest.py: the real Rasa server and action server on the trained model. Every
    # fixture that starts a gateway in front of it (browser `gateway`, security `edge`, ...)
    # depends on it, so it carries those along.
    "rasa_stack": {"rasa"},
    # tests/browser/conftest.py: Debian's chromium.
    "chromium_path": {"browser"},
    "browser": {"browser"},
    # The cluster behind HAProxy, on the trained model (bot/cluster.py).
    "cluster_run": {"cluster", "rasa"},
    "production_cluster": {"cluster", "rasa"},
    # test_pubsub_bus.py: the Redis on 127.0.0.1:6379.
    "redis_up": {"redis"},
}

#: Fixtures of one module (pytest's nodeid of where they are defined :: name) whose name says
#: too little to be listed above.
MODULE_FIXTURE_MARKS: dict[str, set[str]] = {
    # A redis-server of the test's own, stopped and restarted.
    "tests/integration/test_pubsub_redis_restart.py::server": {"redis"},
    # A real Prometheus scraping a gateway and an action server until a rule fires: seconds of
    # waiting for its scrape and evaluation intervals.
    "tests/integration/test_prometheus_scrape.py::prometheus": {"slow"},
}

#: Names that, when the code of a test or of its own module's fixtures and helpers refers to
#: them, say what it needs.
CODE_MARKS: dict[str, set[str]] = {
    # The trained model, asked for directly.
    "model_path": {"rasa"},
    "ensure_model": {"rasa"},
    "start_stack": {"rasa"},
    # Rasa's command line (`rasa data validate`, ...): no model, but it loads all of Rasa and
    # TensorFlow and reads every training file.
    "rasa_bin": {"slow"},
    # A script run inside the Rasa runtime (tests/fixtures/rasa_runtime.py): a Python 3.10 that
    # imports Rasa, often TensorFlow, for each test, seconds where the other tests take
    # milliseconds. They run in make test, and on their own with
    # `pytest tests/unit/test_rasa_runtime.py tests/unit/test_rasa_trackers.py -m "not rasa"`.
    "run_in_rasa": {"slow"},
    # A server of the test's own (tests/fixtures/services.py): the binaries must be installed.
    "OwnRedis": {"redis"},
    "OwnPostgres": {"postgres"},
}

#: Tests that start the whole product through code of another module (`python -m bot run`, the
#: bench), which neither their fixtures nor their own code show. Keyed by nodeid without
#: parameters.
TEST_MARKS: dict[str, set[str]] = {
    "tests/integration/test_supervision.py::test_kill_9_of_the_launcher_leaves_nothing_and_a_second_start_is_refused": {
        "rasa"
    },
    # `make bench` in miniature: the stock and the product stack one after the other.
    "tests/integration/test_bench_smoke.py::test_bench_smoke_run": {"rasa", "slow"},
    # `make soak` in miniature: the product stack under load for two minutes.
    "tests/integration/test_soak.py::test_a_short_soak_keeps_every_process_flat": {"rasa", "slow"},
}


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    """A function's code and the code of the functions and lambdas nested in it."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _referenced_names(func: object, module: types.ModuleType | None, seen: set[int]) -> set[str]:
    """Global and attribute names a function refers to, following the plain functions of its
    own module that it calls (a test's ``start(tmp_path)`` helper)."""
    func = getattr(func, "__wrapped__", func)
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return set()
    seen.add(id(code))
    names: set[str] = set()
    for each in _code_objects(code):
        names.update(each.co_names)
    if module is not None:
        for name in list(names):
            helper = vars(module).get(name)
            if isinstance(helper, types.FunctionType) and helper.__module__ == module.__name__:
                names |= _referenced_names(helper, module, seen)
    return names


def _needs(item: pytest.Item) -> set[str]:
    needs: set[str] = set()
    path = Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
    for directory, marks in DIRECTORY_MARKS.items():
        if path.startswith(directory + "/"):
            needs |= marks
    fixture_names = getattr(item, "fixturenames", [])
    for name in fixture_names:
        needs |= FIXTURE_MARKS.get(name, set())
    # pytest keeps which definition of each fixture an item uses only here (no public API).
    info = getattr(item, "_fixtureinfo", None)
    module = getattr(item, "module", None)
    seen: set[int] = set()
    code_names: set[str] = set()
    if isinstance(item, pytest.Function):
        code_names |= _referenced_names(item.function, module, seen)
    if info is not None:
        for name, defs in info.name2fixturedefs.items():
            if not defs:
                continue
            fixturedef = defs[-1]
            needs |= MODULE_FIXTURE_MARKS.get(f"{fixturedef.baseid}::{name}", set())
            # Only the fixtures of the test's own module: the shared ones are named above.
            if fixturedef.baseid == path:
                code_names |= _referenced_names(fixturedef.func, module, seen)
    for name in code_names & CODE_MARKS.keys():
        needs |= CODE_MARKS[name]
    needs |= TEST_MARKS.get(item.nodeid.split("[", 1)[0], set())
    return needs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        present = {mark.name for mark in item.iter_markers()}
        for name in sorted(_needs(item) - present):
            item.add_marker(getattr(pytest.mark, name))
