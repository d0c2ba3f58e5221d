"""The bench's arithmetic (percentiles, summaries, ratios against the targets) and /proc reading."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench import procs, report
from bench.load import Level, Turn


def level(latencies, users=1, errors=(), empty=()):
    turns = [
        Turn(0, i, float(i), lat, 0 if i in empty else 2, "boom" if i in errors else "")
        for i, lat in enumerate(latencies)
    ]
    return Level(users, len(turns), wall_s=10.0, turns=turns)


def test_percentile_interpolates_between_ranks():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert report.percentile(values, 50) == pytest.approx(50.5)
    assert report.percentile(values, 95) == pytest.approx(95.05)
    assert report.percentile(values, 99) == pytest.approx(99.01)
    assert report.percentile([7.0], 99) == 7.0
    assert report.percentile([], 50) is None


def test_summarize_leaves_failed_and_empty_turns_out_of_latency_and_throughput():
    summary = report.summarize(level([0.1, 0.2, 0.3, 0.4, 9.0], errors={4}, empty={1}))
    assert summary["turns"] == 5 and summary["ok"] == 3 and summary["errors"] == 2
    assert summary["error_kinds"] == {"boom": 1, "empty answer": 1}
    assert summary["empty_answers"] == 1
    assert summary["p50_ms"] == pytest.approx(300.0)
    assert summary["max_ms"] == pytest.approx(400.0)
    assert summary["turns_per_s"] == pytest.approx(0.3)


def test_conversation_compares_first_and_last_ten_turns():
    conv = report.conversation(level([0.1] * 10 + [0.5] * 130 + [0.2] * 9 + [0.01], empty={149}))
    assert conv["errors"] == 1
    assert conv["first_window"] == "1-10" and conv["last_window"] == "141-150"
    assert conv["first_median_ms"] == pytest.approx(100.0)
    assert conv["last_median_ms"] == pytest.approx(200.0)
    assert conv["growth"] == pytest.approx(2.0)
    assert len(conv["latency_ms_by_turn"]) == 150


def stack(tps, p50, p95, mem, ready, growth):
    return {
        "levels": {
            "1": {"p50_ms": p50, "turns_per_s": tps, "p95_ms": p95},
            "50": {"p50_ms": p50, "turns_per_s": tps, "p95_ms": p95},
        },
        "memory": {"peak_total_mb": mem * 2, "idle_total_mb": mem * 2, "peak_pss_total_mb": mem},
        "ready_s": ready,
        "conversation": {"growth": growth},
    }


def test_ratios_are_product_over_stock_against_the_targets():
    stock = stack(tps=10.0, p50=100.0, p95=7000.0, mem=1500.0, ready=60.0, growth=3.0)
    product = stack(tps=35.0, p50=60.0, p95=2000.0, mem=1400.0, ready=20.0, growth=1.2)
    by_key = {r["key"]: r for r in report.ratios({"stock": stock, "product": product})}
    assert by_key["throughput"]["value"] == pytest.approx(3.5) and by_key["throughput"]["met"] is True
    assert by_key["throughput"]["label"] == "throughput at 50 users"
    assert by_key["p50_single"]["value"] == pytest.approx(0.6) and by_key["p50_single"]["met"] is False
    assert by_key["p95_max"]["value"] == pytest.approx(0.286) and by_key["p95_max"]["met"] is True
    assert by_key["growth"]["value"] == pytest.approx(1.2) and by_key["growth"]["met"] is True
    # On PSS (each shared page once), not on the RSS sum.
    assert by_key["memory"]["value"] == pytest.approx(0.933) and by_key["memory"]["met"] is True
    assert by_key["ready"]["value"] == pytest.approx(0.333) and by_key["ready"]["met"] is True


def test_ratios_without_stock_are_unknown_not_met():
    product = stack(tps=35.0, p50=60.0, p95=2000.0, mem=1400.0, ready=20.0, growth=1.5)
    by_key = {r["key"]: r for r in report.ratios({"product": product})}
    assert by_key["throughput"]["value"] is None and by_key["throughput"]["met"] is None
    assert by_key["growth"]["met"] is False  # the product's own growth needs no stock


def test_process_tree_memory_includes_children():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert child.pid in procs.tree(os.getpid())
        usage = procs.tree_usage({"me": os.getpid()})
        own_only = procs.rss_bytes(os.getpid())
        assert usage["me"][0] > own_only > 10 * 2**20  # a Python interpreter is over 10 MB
        # PSS counts the pages the two interpreters share (the libraries) once between them.
        assert procs.pss_bytes(os.getpid()) < own_only
        assert procs.pss_bytes(os.getpid()) < usage["me"][1] < usage["me"][0]
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    assert child.pid not in procs.tree(os.getpid())
