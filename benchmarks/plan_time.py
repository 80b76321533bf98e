"""Benchmark `make plan STACK=<stack>`: wall time (median of N runs) and peak memory of each run.

Usage: `make bench` or `python benchmarks/plan_time.py --stack prod --runs 5`. Machines here are noisy:
quote the median, not the best run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB, largest process of the run) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        msg = f"{' '.join(command)} failed:\n{stderr}"
        raise SystemExit(msg)
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    command = ["make", "--no-print-directory", "plan", f"STACK={args.stack}"]
    run_once(command)  # warm-up: the first run also checks the environment
    results = [run_once(command) for _ in range(args.runs)]
    times = sorted(t for t, _ in results)
    peaks = [m for _, m in results]
    print(f"make plan STACK={args.stack}: {args.runs} runs")
    print(f"  wall time  median {statistics.median(times):.2f} s  (min {times[0]:.2f}, max {times[-1]:.2f})")
    print(f"  peak RSS   median {statistics.median(peaks):.0f} MiB (max {max(peaks):.0f})")


if __name__ == "__main__":
    main()
