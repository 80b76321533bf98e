"""Benchmark the template: generation time, the generated suite's time, and generation to first tracked run.

Usage: `python benchmarks/template_time.py --runs 3` (after `make setup`: "after install" means the
project's pinned dependencies are already in this environment, as they are after the project's own
`make setup`). Each run generates the default project into a fresh folder, runs its test suite, then
times from a second, fresh generation to the end of `mlflow run` against a new sqlite store: the
project trained, evaluated against the (absent) champion, registered and aliased. Machines here are
shared: quote the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "templates" / "mlflow-project"
BIN = Path(sys.executable).parent


def generate(output_dir: Path) -> tuple[Path, float]:
    """The default project, and the seconds its generation took."""
    start = time.perf_counter()
    project = cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output_dir))
    return Path(project), time.perf_counter() - start


def environment(**extra: str) -> dict[str, str]:
    """This interpreter's bin folder first on PATH (`mlflow`, `uvicorn`), no MLflow settings from outside."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    return {**kept, "PATH": os.pathsep.join([str(BIN), kept.get("PATH", "")]), **extra}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of `command`; exits with its output when it fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        msg = f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        raise SystemExit(msg)
    return time.perf_counter() - start


def run_once(workdir: Path) -> tuple[float, float, float]:
    """(generation s, generated suite s, generation-to-first-tracked-run s) of one fresh project."""
    project, generation = generate(workdir / "suite")
    suite = timed(
        [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=environment(PYTHONPATH=str(project / "src")),
    )
    store = workdir / "store"
    store.mkdir()
    start = time.perf_counter()
    project, _ = generate(workdir / "first-run")
    timed(
        [str(BIN / "mlflow"), "run", str(project), "--env-manager", "local", "--experiment-name", "bench"],
        cwd=store,  # the sqlite store's default artifact root (./mlruns) lands here
        env=environment(MLFLOW_TRACKING_URI=f"sqlite:///{store / 'mlflow.db'}"),
    )
    return generation, suite, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="template-bench-") as tmp:
        results = []
        for index in range(args.runs):
            workdir = Path(tmp) / f"run-{index}"
            workdir.mkdir()
            results.append(run_once(workdir))
    print(f"template: {args.runs} runs of the default project (load average {psutil.getloadavg()[0]:.1f})")
    for label, column in (
        ("generation", 0),
        ("generated test suite", 1),
        ("generation to first tracked, registered run", 2),
    ):
        values = sorted(result[column] for result in results)
        print(
            f"  {label:<44} median {statistics.median(values):6.1f} s"
            f"  (min {values[0]:.1f}, max {values[-1]:.1f})"
        )


if __name__ == "__main__":
    main()
