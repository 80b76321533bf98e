"""The demo's side of the project worker (in_project/worker.py): one process runs every project step.

Each step was its own `python -m <package>.<step>` process, and each paid again for importing MLflow,
pandas, scikit-learn and matplotlib (3-5 s of CPU each, most of the demo's CPU time). The worker imports
them once and calls the same entry points (`<package>.<step>.main(argv)`) one after another; each step
still gets its own log and return code. Steps are queued: `submit` returns at once, `wait` blocks
until that step's answer (bounded by --stage-timeout from the moment it was submitted).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from local_e2e.errors import StageFailedError

SCRIPT = Path(__file__).resolve().parent / "in_project" / "worker.py"
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class StepOutput:
    returncode: int
    output: str
    log: Path


class ProjectWorker:
    """Starts in_project/worker.py in `cwd` with `env`; its own output goes to `logs`/worker.log."""

    def __init__(self, python: str, env: Mapping[str, str], cwd: Path, logs: Path, timeout: float) -> None:
        self.logs = logs
        self.timeout = timeout
        self.log = logs / "worker.log"
        self._log_stream = self.log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [python, str(SCRIPT)],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_stream,
            text=True,
            bufsize=1,
        )
        self._answers: dict[int, int] = {}
        self._closed = False
        self._changed = threading.Condition()
        self._next_id = 0
        threading.Thread(target=self._read_answers, name="project-worker", daemon=True).start()

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            answer = json.loads(line)
            with self._changed:
                self._answers[answer["id"]] = answer["returncode"]
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _send(self, stage: str, request: dict[str, object]) -> int:
        self._next_id += 1
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"id": self._next_id, **request}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as err:
            msg = f"the project worker is gone (exit code {self.process.poll()})"
            raise StageFailedError(msg, stage=stage, log=str(self.log)) from err
        return self._next_id

    def submit(self, stage: str, target: str, argv: Sequence[str]) -> PendingStep:
        """Queue `target.main(argv)`; its output goes to logs/<stage>.log."""
        log = self.logs / f"{stage}.log"
        command = f"python -m {target} {' '.join(argv)}"
        log.write_text(f"$ {command}  (in the project worker, pid {self.process.pid})\n", encoding="utf-8")
        request_id = self._send(stage, {"target": target, "argv": list(argv), "log": str(log)})
        return PendingStep(self, request_id, stage, log, time.monotonic() + self.timeout)

    def preload(self, modules: Sequence[str]) -> None:
        """Import `modules` in the worker when it is next idle (nobody waits for the answer)."""
        self._send("preload", {"preload": list(modules)})

    def answer(self, request_id: int, deadline: float) -> int | None:
        """The request's return code; None when the worker ended without answering it. Raises
        TimeoutError at `deadline`."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: request_id in self._answers or self._closed,
                timeout=max(0.0, deadline - time.monotonic()),
            )
            if not done:
                raise TimeoutError
            return self._answers.get(request_id)

    def close(self) -> None:
        """End the worker: idle, it exits at the end of its input (killed if not within STOP_SECONDS);
        still busy (the loop stopped early), its unfinished work is no longer wanted and it is killed."""
        with self._changed:
            busy = not self._closed and self._next_id not in self._answers
        if busy:
            self.kill()
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
        self._log_stream.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class PendingStep:
    """A step queued in the worker; `wait` is bounded by --stage-timeout."""

    worker: ProjectWorker
    request_id: int
    stage: str
    log: Path
    deadline: float

    def wait(self) -> StepOutput:
        try:
            returncode = self.worker.answer(self.request_id, self.deadline)
        except TimeoutError as err:
            self.worker.kill()  # the step may hold the worker forever: nothing after it can run
            msg = f"still running after --stage-timeout {self.worker.timeout:.0f} s"
            raise StageFailedError(msg, stage=self.stage, log=str(self.log)) from err
        if returncode is None:
            msg = (
                f"the project worker exited (code {self.worker.process.wait()}) before finishing this step;"
                f" see {self.worker.log}"
            )
            raise StageFailedError(msg, stage=self.stage, log=str(self.log))
        output = self.log.read_text(encoding="utf-8", errors="replace").split("\n", 1)[1]
        return StepOutput(returncode, output, self.log)
