"""Server records and process handling: stale records are recognised, waits are bounded, stops are final."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from local_e2e import processes
from local_e2e.errors import DemoBusyError, ServerStartError
from local_e2e.workdir import WorkPaths, exclusive


def _record(pid: int, markers: tuple[str, ...]) -> processes.ServerRecord:
    return processes.ServerRecord("test server", pid, 5999, "http://127.0.0.1:5999", "/dev/null", markers)


def test_a_record_round_trips_and_a_corrupt_one_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "run" / "tracking.json"
    record = _record(123, ("mlflow", "server"))
    record.write(path)
    assert processes.ServerRecord.read(path) == record
    path.write_text("{not json")
    assert processes.ServerRecord.read(path) is None
    assert not path.exists()


def test_a_dead_pid_is_stale() -> None:
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not _record(dead.pid, ("python",)).is_running()


def test_a_reused_pid_running_another_program_is_stale() -> None:
    # This test process is alive, but it is not an MLflow server: its command line lacks the markers.
    assert not _record(os.getpid(), ("mlflow", "server", "--port 5999")).is_running()
    assert _record(os.getpid(), ("python",)).is_running()


def test_a_server_that_exits_while_starting_fails_fast_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    process = processes.start_background(
        [sys.executable, "-c", "import sys; print('boom: port in use'); sys.exit(3)"],
        env=dict(os.environ),
        cwd=tmp_path,
        log=log,
    )
    with pytest.raises(ServerStartError, match=r"(?s)exited with code 3 while starting.*boom: port in use"):
        processes.wait_until_healthy(
            "http://127.0.0.1:9/health", what="test", timeout=30, log=log, process=process
        )


def test_the_wait_gives_up_after_its_budget(tmp_path: Path) -> None:
    with pytest.raises(ServerStartError, match=r"did not answer .* within 1 s \(raise --startup-timeout"):
        processes.wait_until_healthy(
            "http://127.0.0.1:9/health", what="test", timeout=1, log=tmp_path / "none"
        )


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # A leader that forks a worker, as mlflow server and uvicorn do; the worker must not outlive the stop.
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    process = processes.start_background(
        [sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path, log=tmp_path / "l"
    )
    try:
        processes.stop(process.pid, process=process, grace=5)
        assert process.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(process.pid, 0)
    finally:
        if process.poll() is None:
            processes.stop(process.pid, process=process, grace=0)


def test_a_second_demo_on_the_same_work_folder_is_refused(tmp_path: Path) -> None:
    paths = WorkPaths(tmp_path)
    paths.create()
    with exclusive(paths):
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                "import fcntl,sys; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB)",
                str(tmp_path / "demo.lock"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert holder.returncode != 0 and "BlockingIOError" in holder.stderr
        with (
            pytest.raises(DemoBusyError, match=rf"--workdir {tmp_path}: another demo \(pid {os.getpid()}\)"),
            exclusive(paths),
        ):
            pass
