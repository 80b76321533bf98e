"""The project worker runs the demo's steps in one process, each as its own command line would, and a warm
start runs an entry point only when told to. The "project" here is a tiny package of steps written by the
test, so these run in a second, not a demo's minute."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from local_e2e.errors import StageFailedError
from local_e2e.scoring_server import WARM_START
from local_e2e.worker import ProjectWorker

STEPS = {
    "hello": """
        import os, sys, logging
        def main(argv):
            print("hello", *argv, "from", os.getpid())
            logging.getLogger("step").warning("a log line")
            print("to stderr", file=sys.stderr)
            return 0
    """,
    "crash": """
        def main(argv):
            raise RuntimeError("the step broke")
    """,
    "usage": """
        import argparse
        def main(argv):
            argparse.ArgumentParser().parse_args(argv)  # an unknown option exits 2, as on a command line
            return 0
    """,
    "rejected": """
        def main(argv):
            print("gate REJECTED")
            return 1
    """,
    "hang": """
        import time
        def main(argv):
            time.sleep(60)
    """,
    "die": """
        import os
        def main(argv):
            os._exit(9)
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    package = tmp_path / "src" / "steps"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, code in STEPS.items():
        (package / f"{name}.py").write_text(textwrap.dedent(code))
    (tmp_path / "logs").mkdir()
    return tmp_path


def _worker(project: Path, timeout: float = 30) -> ProjectWorker:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return ProjectWorker(sys.executable, env, project, project / "logs", timeout)


def test_steps_share_one_process_and_each_gets_its_own_log_and_exit_code(project: Path) -> None:
    worker = _worker(project)
    try:
        first = worker.submit("one", "steps.hello", ["a"])
        second = worker.submit("two", "steps.hello", ["b"])
        rejected = worker.submit("three", "steps.rejected", [])
        one, two, three = first.wait(), second.wait(), rejected.wait()
    finally:
        worker.close()
    assert (one.returncode, two.returncode, three.returncode) == (0, 0, 1)
    assert f"hello a from {worker.process.pid}" in one.output
    assert f"hello b from {worker.process.pid}" in two.output and "hello a" not in two.output
    assert "a log line" in one.output and "to stderr" in one.output
    assert one.log.read_text().startswith("$ python -m steps.hello a")
    assert "gate REJECTED" in three.output
    assert worker.process.returncode == 0  # ended by the end of its input
    assert "steps.hello: " in worker.log.read_text()  # each step's CPU time


def test_a_crashing_step_fails_like_a_process_and_the_next_step_still_runs(project: Path) -> None:
    worker = _worker(project)
    try:
        crash = worker.submit("crash", "steps.crash", []).wait()
        usage = worker.submit("usage", "steps.usage", ["--nope"]).wait()
        after = worker.submit("after", "steps.hello", []).wait()
    finally:
        worker.close()
    assert crash.returncode == 1 and "RuntimeError: the step broke" in crash.output
    assert usage.returncode == 2 and "unrecognized arguments: --nope" in usage.output
    assert after.returncode == 0


def test_a_step_past_the_stage_timeout_is_stopped_with_the_worker(project: Path) -> None:
    worker = _worker(project, timeout=1)
    with pytest.raises(StageFailedError, match=r"still running after --stage-timeout 1 s"):
        worker.submit("hang", "steps.hang", []).wait()
    assert worker.process.poll() is not None
    worker.close()


def test_a_worker_that_dies_mid_step_is_reported_with_its_exit_code(project: Path) -> None:
    worker = _worker(project)
    with pytest.raises(StageFailedError, match=r"the project worker exited \(code 9\) before finishing"):
        worker.submit("die", "steps.die", []).wait()
    with pytest.raises(StageFailedError, match=r"the project worker is gone"):
        worker.submit("later", "steps.hello", [])
    worker.close()


def test_closing_a_busy_worker_stops_its_unfinished_work(project: Path) -> None:
    worker = _worker(project)
    worker.submit("hang", "steps.hang", [])
    worker.close()
    assert worker.process.returncode is not None and worker.process.returncode < 0  # killed, not waited 60 s


@pytest.mark.parametrize(("say", "runs"), [("go\n", True), ("", False), ("stop\n", False)])
def test_a_warm_start_runs_its_entry_point_only_on_go(project: Path, say: str, runs: bool) -> None:
    completed = subprocess.run(
        [sys.executable, str(WARM_START), "-m", "steps.hello", "--port", "5501"],
        input=say,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert ("hello --port 5501 from" in completed.stdout) is runs
