"""Benchmark `make demo`: median wall time of N runs, the per-stage breakdown, and peak memory.

Usage: `python benchmarks/demo_time.py --runs 3` (after `make setup`). Each run gets a fresh work folder,
so each is a first run: a new sqlite store, a generated project, a registered v1 and a scoring server.
Peak memory is the largest sum of resident memory over the whole process tree (make, the demo, both
servers and the stage in flight), sampled every 0.2 s. Machines here are shared: quote the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.2


def tree_rss(root: psutil.Process) -> int:
    """Resident bytes of `root` and every descendant still alive."""
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_once(workdir: Path) -> tuple[float, float, dict[str, float]]:
    """Wall seconds, peak tree memory (MiB) and stage seconds of one `make demo`."""
    command = ["make", "--no-print-directory", "demo", f"DEMO_ARGS=--workdir {workdir}"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(root))
        time.sleep(SAMPLE_SECONDS)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        msg = f"{' '.join(command)} exited {process.returncode}:\n{stderr}"
        raise SystemExit(msg)
    summary = json.loads((workdir / "summary.json").read_text(encoding="utf-8"))
    stages = {stage["name"]: stage["seconds"] for stage in summary["stages"]}
    return elapsed, peak / 2**20, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as tmp:
        for index in range(args.runs):
            results.append(run_once(Path(tmp) / f"run-{index}"))
    times = sorted(elapsed for elapsed, _, _ in results)
    peaks = [peak for _, peak, _ in results]
    print(
        f"make demo: {args.runs} runs, each in a fresh work folder (load average {psutil.getloadavg()[0]:.1f})"
    )
    print(f"  wall time  median {statistics.median(times):.1f} s  (min {times[0]:.1f}, max {times[-1]:.1f})")
    print(
        f"  peak RSS   median {statistics.median(peaks):.0f} MiB (max {max(peaks):.0f}) over the process tree"
    )
    print("  stages (median s):")
    for name in results[0][2]:
        print(f"    {name:<16} {statistics.median(stages.get(name, 0.0) for _, _, stages in results):6.1f}")


if __name__ == "__main__":
    main()
