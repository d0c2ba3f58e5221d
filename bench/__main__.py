"""python -m bench: measure stock Rasa and the product on the same model, one stack at a time.

For each stack: start it (time to ready), sample memory, warm up, run 1, 10 and 50 closed-loop
users, then one long conversation; stop it. Everything it started is stopped on errors and on
Ctrl-C or SIGTERM too. Output: a Markdown table with the ratios against the targets on stdout,
and JSON + PNG in results/bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.load import load_questions, run_level
from bench.procs import Sampler, loadavg, mb
from bench.stacks import PRODUCT_OVERRIDES, ProductStack, StockStack, bench_env
from bot import launcher
from bot.settings import ROOT, load

SAMPLE_INTERVAL_S = 0.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--users", default="1,10,50", help="user counts, comma-separated (default 1,10,50)")
    p.add_argument("--turns", type=int, default=10, help="turns per user (default 10)")
    p.add_argument(
        "--single-turns", type=int, default=30, help="turns of the single user, for a steadier p50 (default 30)"
    )
    p.add_argument(
        "--conversation-turns", type=int, default=150, help="turns of the one long conversation (default 150)"
    )
    p.add_argument("--warmup-turns", type=int, default=5, help="unmeasured turns first (default 5)")
    p.add_argument(
        "--level-deadline", type=float, default=900.0, help="seconds after which a level stops sending (default 900)"
    )
    p.add_argument("--stacks", default="stock,product", help="which stacks, in this order")
    p.add_argument("--questions", type=Path, default=ROOT.parent / "shared" / "eval" / "sample.yml")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument(
        "--quiet-load",
        type=float,
        default=None,
        help="before each stack, wait until the 1-minute load average is at most this "
        "(the machine is shared; at most --quiet-wait seconds)",
    )
    p.add_argument("--quiet-wait", type=float, default=1800.0)
    args = p.parse_args(argv)
    args.users = [int(u) for u in args.users.split(",") if u.strip()]
    args.stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    if not args.users or min(args.users) < 1 or max(args.users) > 200:
        p.error("--users: between 1 and 200 each")
    if (
        not 1 <= args.turns <= 1000
        or not 1 <= args.single_turns <= 1000
        or not 1 <= args.conversation_turns <= 1000
        or not 0 <= args.warmup_turns <= 100
    ):
        p.error("turn counts: 1 to 1000 (warm-up 0 to 100)")
    if set(args.stacks) - {"stock", "product"} or not args.stacks:
        p.error("--stacks: stock and/or product")
    return args


async def _sample_until_cancelled(sampler: Sampler) -> None:
    while True:
        sampler.sample()
        await asyncio.sleep(SAMPLE_INTERVAL_S)  # sampling period


async def measure(stack: Any, questions: list[str], args: argparse.Namespace) -> dict[str, Any]:
    sampler = Sampler(stack.pids())
    idle = sampler.sample()
    sampling = asyncio.create_task(_sample_until_cancelled(sampler))
    factory = stack.user_factory()
    out: dict[str, Any] = {"levels": {}}
    try:
        if args.warmup_turns:
            warm = await run_level(factory, questions, 1, args.warmup_turns, args.level_deadline)
            out["warmup"] = report.summarize(warm)
            first = warm.turns[0]
            out["warmup"]["first_turn_ms"] = None if first.error else round(first.latency_s * 1000, 1)
        for users in args.users:
            turns = args.single_turns if users == 1 else args.turns
            print(f"  {stack.name}: {users} user(s) × {turns} turns…", flush=True)
            level = await run_level(factory, questions, users, turns, args.level_deadline)
            out["levels"][str(users)] = dict(report.summarize(level), raw=level.as_dict()["turns"])
        print(f"  {stack.name}: one conversation of {args.conversation_turns} turns…", flush=True)
        conv = await run_level(factory, questions, 1, args.conversation_turns, args.level_deadline)
        out["conversation"] = report.conversation(conv)
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    sampler.sample()
    out["memory"] = {
        "idle_mb": {k: mb([rss]) for k, (rss, _) in idle.items()},
        "idle_total_mb": mb(rss for rss, _ in idle.values()),
        "peak_mb": {k: mb([v]) for k, v in sampler.peak.items()},
        "peak_total_mb": mb([sampler.peak_total]),
        "idle_pss_mb": {k: mb([pss]) for k, (_, pss) in idle.items()},
        "idle_pss_total_mb": mb(pss for _, pss in idle.values()),
        "peak_pss_mb": {k: mb([v]) for k, v in sampler.peak_pss.items()},
        "peak_pss_total_mb": mb([sampler.peak_pss_total]),
        "samples": sampler.samples,
    }
    shares = sampler.cpu_shares()
    out["machine"] = {
        "cpu_stack_and_bench": shares["stack_and_bench"],
        "cpu_other": shares["other"],
        "loadavg_after": loadavg(),
    }
    return out


def wait_for_quiet(limit: float | None, max_s: float) -> None:
    if limit is None:
        return
    deadline = time.monotonic() + max_s
    if loadavg()[0] > limit:
        print(f"Waiting (at most {max_s:.0f} s) for the load average to drop to {limit}…", flush=True)
    while loadavg()[0] > limit and time.monotonic() < deadline:
        time.sleep(10)  # the load average changes slowly
    if loadavg()[0] > limit:
        print(f"The load average is still {loadavg()[0]}: measuring anyway (noisy).", flush=True)


def run_stack(kind: str, model: Path, questions: list[str], args: argparse.Namespace) -> dict[str, Any]:
    cls = StockStack if kind == "stock" else ProductStack
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    stack = cls(model, args.out / f"var-{kind}")
    load_at_start = loadavg()
    print(f"{kind}: starting…", flush=True)
    try:
        ready = stack.start()
        print(f"{kind}: ready after {ready:.1f} s", flush=True)
        pids = stack.pids()
        result = asyncio.run(measure(stack, questions, args))
    finally:
        stack.stop()
    return {"ready_s": round(ready, 1), "pids": pids, "loadavg_at_start": load_at_start, **result}


def _git(*cmd: str) -> str:
    try:
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """The whole bench; returns the result that was also written to --out."""
    args = parse_args(argv)
    questions = load_questions(args.questions)
    model = launcher.ensure_model(load(bench_env(args.out / "var-product")))
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "meta": {
            "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _git("rev-parse", "HEAD") or "unknown",
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
            "model": model.name,
            "questions": len(questions),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "product_env_overrides": PRODUCT_OVERRIDES,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "rasa": launcher.rasa_version(load(bench_env(args.out / "var-product"))),
            "loadavg_before": loadavg(),
        },
        "stacks": {},
    }
    for kind in args.stacks:
        result["stacks"][kind] = run_stack(kind, model, questions, args)
    result["meta"]["loadavg_after"] = loadavg()
    result["meta"]["duration_s"] = round((datetime.now(UTC) - started).total_seconds())
    result["ratios"] = report.ratios(result["stacks"])
    path = report.write(result, args.out, started.strftime("%Y%m%d-%H%M%S"))
    print("\n" + report.table(result) + "\n")
    print(f"Load average before/after: {result['meta']['loadavg_before']} / {result['meta']['loadavg_after']}")
    print(f"Product run with raised gateway limits: {PRODUCT_OVERRIDES}")
    print(f"Results: {path}")
    if not args.no_plot:
        try:
            import matplotlib  # noqa: F401 - only to know whether a plot can be made here
        except ImportError:
            print("No plot: matplotlib is not installed here (python -m bench.plot RESULT.json elsewhere).")
        else:
            from bench.plot import plot

            print(f"Plot: {plot(result, path.with_suffix('.png'))}")
    return result


def _sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so that every finally: stops what was started


def main() -> int:
    signal.signal(signal.SIGTERM, _sigterm)
    # Also when started in the background by a shell, which would have SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run()
    except KeyboardInterrupt:
        print("\nStopped; every process the bench started has been stopped.", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"Bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
