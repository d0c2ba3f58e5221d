"""`make bench` in miniature: both real stacks, 2 users, a few turns; the report's shape holds,
no turn fails, and every process the bench started is gone afterwards."""

from __future__ import annotations

import json

from bench.__main__ import run
from bench.report import TARGETS
from tests.fixtures.gateway import alive


def test_bench_smoke_run(tmp_path):
    result = run(
        [
            "--users",
            "2",
            "--turns",
            "2",
            "--conversation-turns",
            "3",
            "--warmup-turns",
            "1",
            "--no-plot",
            "--out",
            str(tmp_path),
        ]
    )

    assert list(result["stacks"]) == ["stock", "product"]
    for name, stack in result["stacks"].items():
        level = stack["levels"]["2"]
        assert (level["turns"], level["ok"], level["errors"]) == (4, 4, 0), (name, level["error_kinds"])
        assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"] <= level["max_ms"]
        assert level["turns_per_s"] > 0
        assert level["empty_answers"] == 0  # the assistant answered every turn
        assert stack["conversation"]["turns"] == 3 and stack["conversation"]["errors"] == 0
        assert stack["ready_s"] > 0
        # Rasa alone holds a few hundred MB (TensorFlow, the model): real processes were measured.
        assert stack["memory"]["peak_total_mb"] > 200
        assert stack["memory"]["peak_total_mb"] >= stack["memory"]["idle_total_mb"]
        assert 200 < stack["memory"]["peak_pss_total_mb"] < stack["memory"]["peak_total_mb"]
        assert not [pid for pid in stack["pids"].values() if alive(pid)], f"{name} left processes"
    assert set(result["stacks"]["product"]["pids"]) == {"actieserver", "rasa", "gateway"}

    ratios = {r["key"]: r for r in result["ratios"]}
    assert set(ratios) == {key for key, *_ in TARGETS}
    for key in ("throughput", "p95_max", "memory", "ready", "growth"):
        assert ratios[key]["value"] > 0 and isinstance(ratios[key]["met"], bool)
    assert ratios["p50_single"]["value"] is None  # no single-user level in this run

    written = sorted(tmp_path.glob("bench-*.json"))
    assert len(written) == 1
    assert json.loads(written[0].read_text(encoding="utf-8"))["ratios"] == result["ratios"]
