"""Time a command against this checkout and, optionally, against a baseline git ref, runs alternating.

Shared by plan_time.py and gate_time.py. Machines here are shared and loaded, so a before/after comparison
only means something when both versions run in the same window: with `--baseline <ref>` each round runs
the baseline and the current checkout back to back (alternating which goes first), the baseline from a
temporary `git worktree` of the ref with this checkout's environments (.venv's Python, .venv-checkov).
Each version's own code is imported: `python -m` puts the working directory first on sys.path.

Reported per version: medians of wall time and CPU time (user + system of the command and every process
it waited for; less sensitive to load than wall time), and of peak resident memory (the largest single
process of the run), plus the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_ENVIRONMENTS = (".venv-checkov",)
"""Environments a baseline worktree borrows from this checkout (the program's Python is .venv's)."""


@dataclass(frozen=True)
class Sample:
    """One run of the command."""

    wall: float
    """Seconds from start to exit."""
    cpu: float
    """User + system seconds of the command and its waited-for descendants."""
    peak_mib: float
    """Peak resident memory of the largest process of the run, MiB."""


def run_once(command: list[str], cwd: Path) -> Sample:
    """Run `command` in `cwd`; SystemExit with its stderr when it fails."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            msg = f"{' '.join(command)} failed in {cwd}:\n{stderr.read().decode(errors='replace')[-3000:]}"
            raise SystemExit(msg)
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """A temporary worktree of `ref` that uses this checkout's environments; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), ref], cwd=REPO, check=True,
                   capture_output=True)  # fmt: skip
    try:
        for name in SHARED_ENVIRONMENTS:
            (folder / name).symlink_to(REPO / name)
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, check=False,
                       capture_output=True)  # fmt: skip


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark here takes."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--runs", type=int, default=5, help="timed runs per version (after one warm-up)")
    result.add_argument("--warm-ups", type=int, default=1, help="untimed runs per version first")
    result.add_argument(
        "--baseline", metavar="REF", help="also time git ref REF (e.g. main), alternating with this checkout"
    )
    return result


def _summary(samples: list[Sample]) -> str:
    walls = sorted(s.wall for s in samples)
    return (
        f"wall median {statistics.median(walls):6.2f} s (min {walls[0]:.2f}, max {walls[-1]:.2f})  "
        f"cpu median {statistics.median(s.cpu for s in samples):6.2f} s  "
        f"peak RSS median {statistics.median(s.peak_mib for s in samples):4.0f} MiB"
    )


def compare(label: str, args: list[str], options: argparse.Namespace) -> None:
    """Time `python <args>` (this checkout's .venv Python) per `options` (see `parser`) and print the medians."""
    runs, baseline = options.runs, options.baseline
    command = [sys.executable, *args]
    print(f"{label}: `{' '.join(['python', *args])}`, {runs} runs per version", flush=True)
    print(f"  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with baseline_tree(baseline) if baseline else _no_tree() as base:
        trees = {"current": REPO, **({f"baseline {baseline}": base} if base else {})}
        for _ in range(options.warm_ups):
            for tree in trees.values():
                run_once(command, tree)  # file caches, and a failing command fails before timing
        samples: dict[str, list[Sample]] = {name: [] for name in trees}
        for round_ in range(runs):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                samples[name].append(run_once(command, trees[name]))
                print(f"  round {round_ + 1} {name}: {samples[name][-1]}", flush=True)
    print(f"  load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, found in samples.items():
        print(f"  {name:>20}: {_summary(found)}")
    if base:
        before, after = samples[f"baseline {baseline}"], samples["current"]
        for metric in ("wall", "cpu"):
            old = statistics.median(getattr(s, metric) for s in before)
            new = statistics.median(getattr(s, metric) for s in after)
            print(f"  {metric} ratio current/baseline: {new / old:.2f}  ({old:.2f} s -> {new:.2f} s)")


@contextmanager
def _no_tree() -> Iterator[None]:
    yield None
