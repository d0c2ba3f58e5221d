"""python -m bench.soak (``make soak``): the product's stack under steady load for a long time,
with the memory of every process sampled, failing when a process keeps growing after warm-up.

The stack is `python -m bot run`'s (bench/stacks.py ProductStack: the action server, Rasa's
parent with its workers, the gateway) on the pinned or current model. ``--users`` widget users
(bench/load.py WidgetUser, the widget's WebSocket frames) each hold a conversation of
``--turns`` questions, close it and open a new one, until ``--minutes`` have passed: new
conversations all the time, as on a public site.

Every ``--interval`` seconds each process's RSS and PSS (bench/procs.py, from /proc) and the
gateway's cache figures (its /metrics: kw_cache_entries, kw_cache_bytes, evictions) are read.
Rasa's workers are sampled one by one (their pids as children of Rasa's parent).

The flatness rule, per process, over the second half of the run (the first half is warm-up:
the caches fill until their bounds or their idle time hold them): the least-squares line
through the RSS samples may rise by at most ``max(--max-growth-mb, --max-growth-pct × the
process's median RSS)`` from the start to the end of that half. Python hands freed memory back
to its own allocator, not to the system, so a bounded process levels off rather than shrinking;
a process that holds more for every conversation rises steadily and fails. The defaults (8 MB or
3 %) sit well above the allocator's noise on a quiet 30-minute run and well below the growth of
the unbounded gateway of issue 22 (some 100 KB per conversation, about 11 MB a minute at 20
users). A short run has a shorter window: the test in `make test` (tests/integration/
test_soak.py) says what it allows.

A soak compresses time: conversations here last seconds, so the idle time that evicts them in
production (KW_SESSION_IDLE_S, 30 minutes) is scaled down (``--idle-s``, default 120 s) so the
caches reach their steady state within the warm-up. ``--env NAME=VALUE`` sets any other
setting (e.g. a byte bound); ``--unbounded`` turns the bounds off (huge bytes and idle time), the
"before" of docs/performance.md.

Output under ``--out`` (results/soak/, ignored): soak-<time>.csv (one row per process and
sample), soak-<time>.json (everything, with the verdicts) and soak-<time>.md (a short summary).
Exit status 0 when every process is flat, 1 when one kept growing, 2 when the run itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.load import CONNECT_TIMEOUT_S, TurnError, WidgetUser, load_questions
from bench.procs import _children, cpu_ticks, loadavg, machine_busy_ticks, pss_bytes, rss_bytes
from bench.stacks import PRODUCT_OVERRIDES, ProductStack, bench_env
from bot import launcher
from bot.settings import ROOT, load

MB = 2**20
#: Seconds one turn may take before it counts as an error (a loaded 2-core machine).
TURN_TIMEOUT_S = 60.0
#: What --unbounded sets: bounds far beyond anything a soak reaches.
UNBOUNDED = {
    "KW_SESSION_CACHE_MAX_BYTES": str(64 * 2**30),
    "KW_TRACKER_CACHE_MAX_BYTES": str(64 * 2**30),
    "KW_SESSION_IDLE_S": str(365 * 24 * 3600),
}
CACHE_METRICS = ("kw_cache_entries", "kw_cache_bytes", "kw_cache_evictions_total")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="length of the run (default 30)")
    p.add_argument("--users", type=int, default=20, help="concurrent widget users (default 20)")
    p.add_argument("--turns", type=int, default=10, help="questions per conversation, then a new one (default 10)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between memory samples (default 5)")
    p.add_argument("--idle-s", type=float, default=120.0, help="KW_SESSION_IDLE_S for the run (default 120)")
    p.add_argument("--max-growth-mb", type=float, default=8.0, help="allowed rise over the second half, MB")
    p.add_argument("--max-growth-pct", type=float, default=3.0, help="or this share of the median RSS, %%")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting for the stack")
    p.add_argument("--unbounded", action="store_true", help="the caches' bounds off (the 'before')")
    p.add_argument("--label", default="", help="a word for the report's name and title")
    p.add_argument("--questions", type=Path, default=ROOT.parent / "shared" / "eval" / "sample.yml")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "soak")
    args = p.parse_args(argv)
    if not 0.5 <= args.minutes <= 24 * 60 or not 1 <= args.users <= 200 or not 1 <= args.turns <= 1000:
        p.error("--minutes 0.5 to 1440, --users 1 to 200, --turns 1 to 1000")
    if not 0.2 <= args.interval <= 600:
        p.error("--interval: 0.2 to 600 seconds")
    extra = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("KW_"):
            p.error(f"--env {item!r}: NAME=VALUE with a KW_ setting")
        extra[name] = value
    # Every user comes from 127.0.0.1: one client to the gateway, whose per-client socket cap
    # (KW_MAX_SOCKETS_PER_CLIENT, 20) a user's next conversation would hit while its last socket
    # is still closing.
    sockets = {"KW_MAX_SOCKETS_PER_CLIENT": str(2 * args.users + 10)}
    args.extra = {
        "KW_SESSION_IDLE_S": f"{args.idle_s:g}",
        **sockets,
        **(UNBOUNDED if args.unbounded else {}),
        **extra,
    }
    return args


# -- sampling ---------------------------------------------------------------------------------


def processes(services: dict[str, int]) -> dict[str, int]:
    """Each process to sample by name: the services' own, and Rasa's workers (children of its
    parent, in pid order) as rasa-worker-1, -2, …"""
    kids = _children()
    found = dict(services)
    for name, pid in services.items():
        for i, child in enumerate(sorted(kids.get(pid, ())), 1):
            found[f"{name}-worker-{i}" if name == "rasa" else f"{name}-child-{i}"] = child
    return found


def peak_rss(pid: int) -> int:
    """The process's RSS high-water mark (VmHWM, since it started: its start-up included)."""
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def cache_figures(metrics_text: str) -> dict[str, dict[str, float]]:
    """The gateway's cache series: {cache: {entries, bytes, evicted_bytes, evicted_idle}}."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name not in CACHE_METRICS:
                continue
            entry = out.setdefault(s.labels["cache"], {})
            key = s.name.removeprefix("kw_cache_")
            if key == "evictions_total":
                key = f"evicted_{s.labels['reason']}"
            entry[key] = s.value
    return out


@dataclass
class Series:
    """One process's samples."""

    name: str
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)
    #: The highest RSS the kernel saw (VmHWM), start-up included.
    peak: int = 0


class Recorder:
    def __init__(self, services: dict[str, int], gateway_url: str) -> None:
        self.services = services
        self.gateway_url = gateway_url
        self.t0 = time.monotonic()
        self.series: dict[str, Series] = {}
        self.rows: list[dict[str, Any]] = []
        self.caches: list[dict[str, Any]] = []
        self.cpu0 = (time.monotonic(), machine_busy_ticks())

    def sample(self) -> None:
        t = round(time.monotonic() - self.t0, 2)
        for name, pid in processes(self.services).items():
            rss, pss = rss_bytes(pid), pss_bytes(pid)
            if not rss:
                continue  # ended meanwhile
            series = self.series.setdefault(name, Series(name))
            series.times.append(t)
            series.rss.append(rss)
            series.pss.append(pss)
            series.pids.add(pid)
            series.peak = max(series.peak, peak_rss(pid))
            self.rows.append({"t_s": t, "process": name, "pid": pid, "rss_mb": rss / MB, "pss_mb": pss / MB})
        try:
            with urllib.request.urlopen(f"{self.gateway_url}/metrics", timeout=10) as resp:
                self.caches.append({"t_s": t, "caches": cache_figures(resp.read().decode("utf-8"))})
        except OSError as exc:  # the figure is missing at this sample; the memory is not
            self.caches.append({"t_s": t, "error": type(exc).__name__})

    def cpu_other(self, stack_ticks: int) -> float:
        """The share of all cores used by other processes than the stack and this driver."""
        t1, busy1 = time.monotonic(), machine_busy_ticks()
        t0, busy0 = self.cpu0
        capacity = max(1e-9, (t1 - t0) * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1))
        return round(max(0.0, (busy1 - busy0 - stack_ticks) / capacity), 3)


# -- the rule ---------------------------------------------------------------------------------


def slope(times: list[float], values: list[float]) -> float:
    """Least-squares slope of values over times (per second)."""
    n = len(times)
    if n < 2:
        return 0.0
    mt, mv = sum(times) / n, sum(values) / n
    var = sum((t - mt) ** 2 for t in times)
    return 0.0 if var == 0 else sum((t - mt) * (v - mv) for t, v in zip(times, values, strict=True)) / var


def verdict(series: Series, duration_s: float, max_mb: float, max_pct: float) -> dict[str, Any]:
    """The flatness rule (module docstring) for one process."""
    half = duration_s / 2
    idx = [i for i, t in enumerate(series.times) if t >= half]
    times = [series.times[i] for i in idx]
    rss_mb = [series.rss[i] / MB for i in idx]
    out: dict[str, Any] = {
        "start_mb": round(series.rss[0] / MB, 1) if series.rss else None,
        "warm_mb": round(rss_mb[0], 1) if rss_mb else None,
        "end_mb": round(series.rss[-1] / MB, 1) if series.rss else None,
        "max_mb": round(max(series.rss) / MB, 1) if series.rss else None,
        "end_pss_mb": round(series.pss[-1] / MB, 1) if series.pss else None,
        "peak_rss_mb": round(series.peak / MB, 1),
        "samples_second_half": len(idx),
        "pids": sorted(series.pids),
    }
    if len(idx) < 3:
        return dict(out, flat=False, reason="too few samples in the second half")
    window = times[-1] - times[0]
    per_s = slope(times, rss_mb)
    allowed = max(max_mb, max_pct / 100 * statistics.median(rss_mb))
    growth = per_s * window
    out.update(
        slope_mb_per_h=round(per_s * 3600, 2),
        growth_second_half_mb=round(growth, 2),
        allowed_mb=round(allowed, 2),
        flat=growth <= allowed,
    )
    if len(series.pids) > 1:
        out["note"] = "restarted during the run (several pids)"
    return out


# -- load -------------------------------------------------------------------------------------


@dataclass
class Load:
    turns: int = 0
    errors: int = 0
    conversations: int = 0
    latencies: list[float] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        kind = (str(exc) or type(exc).__name__)[:80]
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


async def user_loop(
    i: int,
    http: aiohttp.ClientSession,
    ws_url: str,
    origin: str,
    questions: list[str],
    turns: int,
    stop: float,
    load: Load,
) -> None:
    """One user: a conversation of ``turns`` questions, then a new one, until ``stop``."""
    offset = i * 7
    while time.monotonic() < stop:
        user = WidgetUser(http, ws_url, origin)
        try:
            await asyncio.wait_for(user.open(), CONNECT_TIMEOUT_S)
            load.conversations += 1
            for t in range(turns):
                if time.monotonic() >= stop:
                    break
                started = time.monotonic()
                await asyncio.wait_for(user.ask(questions[(offset + t) % len(questions)]), TURN_TIMEOUT_S)
                load.latencies.append(time.monotonic() - started)
                load.turns += 1
        except (TimeoutError, TurnError, aiohttp.ClientError, OSError, RuntimeError, ValueError) as exc:
            load.error(exc)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(user.close(), 10)
        offset += turns


async def drive(stack: ProductStack, questions: list[str], args: argparse.Namespace) -> dict[str, Any]:
    base = stack.settings.gateway_url
    ws_url = base.replace("http://", "ws://", 1) + "/chat/ws"
    recorder = Recorder(stack.pids(), base)
    load = Load()
    duration = args.minutes * 60
    stop = time.monotonic() + duration
    ticks0 = sum(cpu_ticks(pid) for pid in processes(stack.pids()).values()) + cpu_ticks(os.getpid())

    async def sampling() -> None:
        next_at = time.monotonic()
        while True:
            await asyncio.to_thread(recorder.sample)
            next_at += args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # the sampling period

    connector = aiohttp.TCPConnector(limit=args.users + 4)
    async with aiohttp.ClientSession(connector=connector) as http:
        sampler = asyncio.create_task(sampling())
        try:
            await asyncio.gather(
                *(user_loop(i, http, ws_url, base, questions, args.turns, stop, load) for i in range(args.users))
            )
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
    recorder.sample()  # the last point, after the load
    ticks1 = sum(cpu_ticks(pid) for pid in processes(stack.pids()).values()) + cpu_ticks(os.getpid())
    wall = time.monotonic() - recorder.t0
    lat = sorted(load.latencies)
    return {
        "recorder": recorder,
        "duration_s": round(wall, 1),
        "load": {
            "turns": load.turns,
            "errors": load.errors,
            "error_kinds": load.error_kinds,
            "conversations": load.conversations,
            "turns_per_s": round(load.turns / max(wall, 1e-9), 2),
            "p50_ms": round(lat[len(lat) // 2] * 1000) if lat else None,
            "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000) if lat else None,
        },
        "cpu_other": recorder.cpu_other(ticks1 - ticks0),
    }


# -- report -----------------------------------------------------------------------------------


def summary_md(result: dict[str, Any]) -> str:
    meta, load = result["meta"], result["load"]
    lines = [
        f"# Soak {meta['started_utc']}{' — ' + meta['label'] if meta['label'] else ''}",
        "",
        f"{meta['args']['users']} users, conversations of {meta['args']['turns']} turns, "
        f"{result['duration_s'] / 60:.1f} minutes; {load['turns']} turns ({load['turns_per_s']}/s), "
        f"{load['conversations']} conversations, {load['errors']} errors; p50 {load['p50_ms']} ms, "
        f"p95 {load['p95_ms']} ms.",
        f"Machine: {meta['cpu_count']} cores, load average {meta['loadavg_before']} before, "
        f"{meta['loadavg_after']} after; other processes used {result['cpu_other']:.0%} of all cores.",
        f"Settings: {meta['env']}.",
        "",
        "| process | start MB | after warm-up MB | end MB | max MB | peak since start MB | slope MB/h (2nd half) "
        "| rise over 2nd half MB | allowed MB | flat |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, v in result["processes"].items():
        lines.append(
            f"| {name} | {v['start_mb']} | {v['warm_mb']} | {v['end_mb']} | {v['max_mb']} | {v['peak_rss_mb']} | "
            f"{v.get('slope_mb_per_h', '–')} | {v.get('growth_second_half_mb', '–')} | {v.get('allowed_mb', '–')} | "
            f"{'yes' if v['flat'] else 'NO'} |"
        )
    last = next((c for c in reversed(result["caches"]) if "caches" in c), None)
    if last:
        lines += ["", "Gateway caches at the end (entries / estimated MB / evicted by bytes, idle):", ""]
        for name, c in last["caches"].items():
            lines.append(
                f"- {name}: {c.get('entries', 0):.0f} / {c.get('bytes', 0) / MB:.2f} MB / "
                f"{c.get('evicted_bytes', 0):.0f}, {c.get('evicted_idle', 0):.0f}"
            )
    verdict_text = "every process flat after warm-up" if result["flat"] else "GROWING: " + ", ".join(result["growing"])
    lines += ["", f"Verdict: {verdict_text}."]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], recorder: Recorder, out: Path, stamp: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"soak-{stamp}"
    with base.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["t_s", "process", "pid", "rss_mb", "pss_mb"])
        writer.writeheader()
        for row in recorder.rows:
            writer.writerow({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()})
    series = {
        name: {"t_s": s.times, "rss_mb": [round(v / MB, 2) for v in s.rss], "pss_mb": [round(v / MB, 2) for v in s.pss]}
        for name, s in recorder.series.items()
    }
    base.with_suffix(".json").write_text(json.dumps(dict(result, series=series), indent=1), encoding="utf-8")
    base.with_suffix(".md").write_text(summary_md(result), encoding="utf-8")
    return base


def _git(*cmd: str) -> str:
    try:
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """The whole soak; returns the result that was also written under --out."""
    args = parse_args(argv)
    questions = load_questions(args.questions)
    var_dir = args.out / f"var-{os.getpid()}"
    model = launcher.ensure_model(load(bench_env(var_dir)))
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%d-%H%M%S") + (f"-{args.label}" if args.label else "")
    meta: dict[str, Any] = {
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "label": args.label,
        "commit": _git("rev-parse", "HEAD") or "unknown",
        "model": model.name,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "extra"},
        "env": {**PRODUCT_OVERRIDES, **args.extra},
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": loadavg(),
    }
    stack = ProductStack(model, var_dir, args.extra)
    print(f"Soak: starting the stack ({var_dir})…", flush=True)
    try:
        ready = stack.start()
        print(
            f"Soak: ready after {ready:.0f} s; {args.users} users for {args.minutes:g} minutes "
            f"(samples every {args.interval:g} s)…",
            flush=True,
        )
        driven = asyncio.run(drive(stack, questions, args))
    finally:
        stack.stop()
    meta["loadavg_after"] = loadavg()
    recorder: Recorder = driven.pop("recorder")
    duration = driven["duration_s"]
    verdicts = {
        name: verdict(s, duration, args.max_growth_mb, args.max_growth_pct) for name, s in recorder.series.items()
    }
    growing = [name for name, v in verdicts.items() if not v["flat"]]
    result: dict[str, Any] = {
        "meta": meta,
        **driven,
        "ready_s": round(ready, 1),
        "processes": verdicts,
        "caches": recorder.caches,
        "flat": not growing,
        "growing": growing,
    }
    base = write(result, recorder, args.out, stamp)
    result["report"] = str(base)
    print(summary_md(result))
    print(f"Report: {base}.md, .csv, .json")
    return result


def _sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so that every finally: stops what was started


def main() -> int:
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = run()
    except KeyboardInterrupt:
        print("\nStopped; every process the soak started has been stopped.", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"Soak failed: {exc}", file=sys.stderr)
        return 2
    if result["load"]["turns"] == 0:
        print("Soak failed: no turn was answered.", file=sys.stderr)
        return 2
    return 0 if result["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
