"""The bench's figures as one PNG: `python -m bench.plot RESULT.json` (needs matplotlib only)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

COLOURS = {"stock": "#7f7f7f", "product": "#1f77b4"}


def plot(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    stacks = result["stacks"]
    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    (lat, thr), (conv, mem) = ax
    for name, s in stacks.items():
        users = sorted(s["levels"], key=int)
        xs = [int(u) for u in users]
        for key, style in (("p50_ms", "-"), ("p95_ms", "--"), ("p99_ms", ":")):
            lat.plot(
                xs,
                [s["levels"][u][key] for u in users],
                style,
                marker="o",
                color=COLOURS.get(name),
                label=f"{name} {key[:3]}",
            )
    lat.set(title="Latency per turn", xlabel="users (closed loops)", ylabel="ms", yscale="log")
    lat.legend(fontsize=8)

    width = 0.8 / max(1, len(stacks))
    for i, (name, s) in enumerate(stacks.items()):
        users = sorted(s["levels"], key=int)
        thr.bar(
            [j + i * width for j in range(len(users))],
            [s["levels"][u]["turns_per_s"] or 0 for u in users],
            width,
            color=COLOURS.get(name),
            label=name,
        )
        thr.set_xticks([j + width * (len(stacks) - 1) / 2 for j in range(len(users))], users)
    thr.set(title="Throughput", xlabel="users", ylabel="turns/s")
    thr.legend(fontsize=8)

    for name, s in stacks.items():
        by_turn = s["conversation"]["latency_ms_by_turn"]
        conv.plot(range(1, len(by_turn) + 1), by_turn, ".", color=COLOURS.get(name), alpha=0.35)
        smooth = [
            statistics.median([v for v in by_turn[max(0, k - 5) : k + 5] if v is not None] or [0])
            for k in range(len(by_turn))
        ]
        conv.plot(range(1, len(by_turn) + 1), smooth, "-", color=COLOURS.get(name), label=f"{name} (median of 10)")
    conv.set(title="One conversation: latency by turn number (1 user)", xlabel="turn", ylabel="ms")
    conv.legend(fontsize=8)

    ticks = []
    for i, (name, s) in enumerate(stacks.items()):
        bottom, small = 0.0, []
        for proc, value in s["memory"].get("peak_pss_mb", s["memory"]["peak_mb"]).items():
            mem.bar(i, value, 0.6, bottom=bottom, color=COLOURS.get(name), edgecolor="white")
            if value >= 200:  # room for a label inside the bar
                mem.text(
                    i,
                    bottom + value / 2,
                    f"{proc}\n{value:.0f} MB",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                )
            else:
                small.append(f"{proc} {value:.0f}")
            bottom += value
        ticks.append(name + (f"\n({', '.join(small)} MB)" if small else ""))
    mem.set_xticks(range(len(stacks)), ticks)
    mem.set(title="Memory: peak PSS per process tree", ylabel="MB")

    meta = result["meta"]
    fig.suptitle(
        f"make bench, {meta['started_utc']} · commit {meta['commit'][:10]} · "
        f"load average before {meta['loadavg_before'][0]:.2f}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.plot RESULT.json", file=sys.stderr)
        return 2
    src = Path(argv[0])
    print(plot(json.loads(src.read_text(encoding="utf-8")), src.with_suffix(".png")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
