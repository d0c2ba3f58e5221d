"""Figures from the measured turns, the product/stock ratios against the targets, and output.

The targets are those of issue 10: the product must be well ahead of stock Rasa on the same
model and data. Each ratio is product divided by stock, except the growth of latency within one
long conversation, which compares the product with itself.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from bench.load import Level, Turn

# (key, label, how it is computed, comparison, target)
TARGETS = [
    ("throughput", "throughput at {max_users} users", "product/stock", ">=", 3.0),
    ("p50_single", "p50 at 1 user", "product/stock", "<=", 0.5),
    ("p95_max", "p95 at {max_users} users", "product/stock", "<=", 0.35),
    ("growth", "turns 141-150 vs 1-10, one conversation", "product late/early", "<=", 1.3),
    ("memory", "memory, all processes (peak PSS)", "product/stock", "<=", 1.0),
    ("ready", "time to ready", "product/stock", "<=", 0.5),
]


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 1)


def failure(turn: Turn) -> str:
    """Why a turn failed, or "" when the user got an answer.

    Every question of the set has an answer, so an answer without any bot message is a failure
    too: stock Rasa returns one when its call to the action server fails (it logs the error and
    drops the action's events).
    """
    return turn.error or ("empty answer" if turn.messages == 0 else "")


def summarize(level: Level) -> dict[str, Any]:
    ok = sorted(t.latency_s for t in level.turns if not failure(t))
    errors = Counter(failure(t) for t in level.turns if failure(t))
    return {
        "users": level.users,
        "turns_per_user": level.turns_per_user,
        "turns": len(level.turns),
        "ok": len(ok),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(5)),
        "empty_answers": errors.get("empty answer", 0),
        "wall_s": round(level.wall_s, 2),
        "turns_per_s": round(len(ok) / level.wall_s, 2) if level.wall_s > 0 else None,
        "p50_ms": _ms(percentile(ok, 50)),
        "p95_ms": _ms(percentile(ok, 95)),
        "p99_ms": _ms(percentile(ok, 99)),
        "mean_ms": _ms(statistics.fmean(ok)) if ok else None,
        "max_ms": _ms(ok[-1]) if ok else None,
    }


def conversation(level: Level, window: int = 10) -> dict[str, Any]:
    """Latency by turn number in one long conversation: first `window` turns vs last."""
    by_turn = [None if failure(t) else round(t.latency_s * 1000.0, 1) for t in level.turns]
    first = [v for v in by_turn[:window] if v is not None]
    last = [v for v in by_turn[-window:] if v is not None]
    first_med = statistics.median(first) if first else None
    last_med = statistics.median(last) if last else None
    n = len(by_turn)
    return {
        "turns": n,
        "errors": sum(1 for v in by_turn if v is None),
        "first_window": f"1-{min(window, n)}",
        "last_window": f"{max(1, n - window + 1)}-{n}",
        "first_median_ms": first_med,
        "last_median_ms": last_med,
        "growth": round(last_med / first_med, 2) if first_med and last_med else None,
        "latency_ms_by_turn": by_turn,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _pss(stack: dict[str, Any]) -> float | None:
    """Peak PSS of all processes; results written before the bench read PSS have only RSS."""
    return stack["memory"].get("peak_pss_total_mb")


def ratios(stacks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    stock, product = stacks.get("stock"), stacks.get("product")
    values: dict[str, float | None] = {k: None for k, *_ in TARGETS}
    max_users = None
    if product:
        values["growth"] = product.get("conversation", {}).get("growth")
    if stock and product:
        common = set(stock["levels"]) & set(product["levels"])
        if common:
            top = max(common, key=int)
            max_users = int(top)
            s, p = stock["levels"][top], product["levels"][top]
            values["throughput"] = _ratio(p["turns_per_s"], s["turns_per_s"])
            values["p95_max"] = _ratio(p["p95_ms"], s["p95_ms"])
        if "1" in common:
            values["p50_single"] = _ratio(product["levels"]["1"]["p50_ms"], stock["levels"]["1"]["p50_ms"])
        values["memory"] = _ratio(_pss(product), _pss(stock))
        values["ready"] = _ratio(product["ready_s"], stock["ready_s"])
    out = []
    for key, label, how, op, target in TARGETS:
        value = values[key]
        met = None if value is None else (value >= target if op == ">=" else value <= target)
        out.append(
            {
                "key": key,
                "label": label.format(max_users=max_users or "most"),
                "how": how,
                "value": value,
                "target": f"{op} {target}",
                "met": met,
            }
        )
    return out


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value}{unit}"


def table(result: dict[str, Any]) -> str:
    """The figures as Markdown, as they go into docs/performance.md."""
    stacks = result["stacks"]
    names = [n for n in ("stock", "product") if n in stacks]
    rows = [["", *names]]
    levels = sorted({u for s in stacks.values() for u in s["levels"]}, key=int)
    for users in levels:
        for key, label, unit in (
            ("turns_per_s", "turns/s", ""),
            ("p50_ms", "p50", " ms"),
            ("p95_ms", "p95", " ms"),
            ("p99_ms", "p99", " ms"),
            ("errors", "errors (of them empty answers)", ""),
        ):
            lv = [stacks[n]["levels"].get(users, {}) for n in names]
            head = f"{users} user{'s' if users != '1' else ''} × {lv[0].get('turns_per_user', '?')} turns"
            cells = [_fmt(x.get(key), unit) for x in lv]
            if key == "errors":
                cells = [f"{c} ({_fmt(x.get('empty_answers'))})" for c, x in zip(cells, lv, strict=True)]
            rows.append([f"{head}: {label}", *cells])
    rows.append(
        [
            "memory, peak PSS of all processes",
            *[_fmt(stacks[n]["memory"].get("peak_pss_total_mb"), " MB") for n in names],
        ]
    )
    rows.append(
        [
            "memory, peak RSS summed over all processes (shared pages counted in each)",
            *[_fmt(stacks[n]["memory"]["peak_total_mb"], " MB") for n in names],
        ]
    )
    rows.append(
        ["memory, after start (idle, PSS)", *[_fmt(stacks[n]["memory"].get("idle_pss_total_mb"), " MB") for n in names]]
    )
    rows.append(["start to ready", *[_fmt(stacks[n]["ready_s"], " s") for n in names]])
    rows.append(
        [
            "first turn after ready (warm-up, not in the levels)",
            *[_fmt(stacks[n].get("warmup", {}).get("first_turn_ms"), " ms") for n in names],
        ]
    )
    rows.append(
        [
            "one conversation, median of first vs last 10 turns",
            *[
                f"{_fmt(stacks[n]['conversation']['first_median_ms'])} → "
                f"{_fmt(stacks[n]['conversation']['last_median_ms'])} ms"
                for n in names
            ],
        ]
    )
    rows.append(
        [
            "load average (1 min) when the stack started",
            *[_fmt(stacks[n].get("loadavg_at_start", [None])[0]) for n in names],
        ]
    )
    rows.append(
        [
            "CPU used by other work during the run (share of all cores)",
            *[f"{stacks[n]['machine']['cpu_other']:.0%}" for n in names],
        ]
    )
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    lines += ["", "| target | how | value | target | met |", "|---|---|---|---|---|"]
    for r in result["ratios"]:
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        lines.append(f"| {r['label']} | {r['how']} | {_fmt(r['value'])} | {r['target']} | {met} |")
    return "\n".join(lines)


def write(result: dict[str, Any], out_dir: Path, stamp: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return path
