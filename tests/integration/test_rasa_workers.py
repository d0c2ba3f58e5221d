"""Rasa served by two workers forked from one loaded process (rasa_runtime/workers.py), started
exactly as the launcher starts Rasa, with the trained model: both serve the same answers, they
share the parent's pages, a killed worker comes back, and SIGTERM leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

from bench.procs import pss_bytes, rss_bytes, tree
from bot import launcher
from bot.settings import ROOT, load
from tests.fixtures.gateway import alive, poll

MESSAGES = [
    "wanneer sluit de aanvraag",
    "welke wijken doen mee",
    "hoeveel geld krijgt rotterdam",
    "hallo",
    "ik wil een mens spreken",
]


def status(url: str, token: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/status?token={token}", timeout=2) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def parse(url: str, token: str, text: str) -> list:
    req = urllib.request.Request(
        f"{url}/model/parse?token={token}",
        method="POST",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        data = json.load(resp)
    return [data["intent"]["name"], [(e["entity"], e["value"]) for e in data["entities"]]]


def workers_of(parent: int) -> list[int]:
    return sorted(tree(parent) - {parent})


def start(tmp_path):
    """Rasa with two workers, as the launcher starts it: (process, settings)."""
    settings = load(launcher.isolated_env(tmp_path, {"KW_RASA_WORKERS": "2"}))
    model = launcher.model_path(settings)
    assert model.exists(), "make test trains the model first"
    assert len(settings.rasa_urls) == 2
    endpoints = launcher.write_endpoints(settings)
    with open(tmp_path / "rasa.log", "wb") as log:
        proc = subprocess.Popen(
            launcher.rasa_command(settings, model, endpoints, settings.rasa_port),
            cwd=ROOT,
            env=launcher.child_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, settings


def test_two_forked_rasa_workers_serve_share_and_are_supervised(tmp_path):
    proc, settings = start(tmp_path)
    urls, token = settings.rasa_urls, settings.rasa_token
    try:
        poll(lambda: all(status(u, token) for u in urls), 240, "both workers to load the model")
        model_ids = [(status(u, token) or {}).get("model_id") for u in urls]
        assert model_ids[0] and model_ids == [model_ids[0]] * len(urls)
        first = [parse(urls[0], token, m) for m in MESSAGES]
        assert first == [parse(urls[1], token, m) for m in MESSAGES]
        assert first[3][0] == "greet"

        workers = workers_of(proc.pid)
        assert len(workers) == 2
        # The workers still share what the parent loaded (TensorFlow, Rasa, the spaCy pipeline):
        # the whole tree's PSS is far below its summed RSS, which counts shared pages in each.
        pids = [proc.pid, *workers]
        rss, pss = sum(map(rss_bytes, pids)), sum(map(pss_bytes, pids))
        assert rss - pss > 400 * 2**20, (rss >> 20, pss >> 20)

        os.kill(workers[1], signal.SIGKILL)  # a crash of one worker
        poll(
            lambda: status(urls[1], token) is None or workers[1] not in workers_of(proc.pid),
            20,
            "the killed worker to be gone",
        )
        poll(lambda: status(urls[1], token), 120, "the parent to fork the worker again")
        again = workers_of(proc.pid)
        assert workers[0] in again and workers[1] not in again and len(again) == 2
        assert [parse(u, token, MESSAGES[0]) for u in urls] == [first[0]] * 2
        assert "is gestopt" in (tmp_path / "rasa.log").read_text(errors="replace")

        proc.send_signal(signal.SIGTERM)  # what the launcher sends on stop
        assert proc.wait(timeout=60) == 0
        assert not any(alive(pid) for pid in again)
        assert not any(status(u, token) for u in urls)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_the_workers_stop_when_their_parent_is_killed(tmp_path):
    """kill -9 of the parent (no chance to stop its workers): the workers stop by themselves and
    free their ports, so a restarted Rasa can bind them again."""
    proc, settings = start(tmp_path)
    urls, token = settings.rasa_urls, settings.rasa_token
    try:
        poll(lambda: all(status(u, token) for u in urls), 240, "both workers to load the model")
        workers = workers_of(proc.pid)
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        poll(lambda: not any(alive(pid) for pid in workers), 30, "the workers to stop")
        assert not any(status(u, token) for u in urls)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
