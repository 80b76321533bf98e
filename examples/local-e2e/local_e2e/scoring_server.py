"""The local scoring endpoint: the project's `serve` (MLflow's scoring server) on the champion, and the
HTTP smoke test a user would run against it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from local_e2e import processes
from local_e2e.errors import SmokeTestError
from local_e2e.ports import LOOPBACK, choose_port
from local_e2e.project import ProjectRunner
from local_e2e.workdir import WorkPaths

WARM_START = Path(__file__).resolve().parent / "in_project" / "warm_start.py"


class ScoringServer(processes.RunningServer):
    @property
    def version(self) -> str:
        """The registered version the server loaded when it started."""
        return self.record.details["version"]


@dataclass
class WarmStart:
    """The project's `serve`, started early through in_project/warm_start.py: imported, not yet serving."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.close()

    def discard(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()  # end of input: it exits without serving
        processes.stop(self.process.pid, process=self.process)


def _serve_args(port: int) -> list[str]:
    return ["--host", LOOPBACK, "--port", str(port)]


def start_warm(runner: ProjectRunner, paths: WorkPaths, *, port: int, avoid: int) -> WarmStart | None:
    """Start `serve` warm while training runs, unless a recorded server is up (it may be reused).

    `models:/<name>@champion` is resolved only on `go`, after registration.
    """
    record = processes.ServerRecord.read(paths.scoring_record)
    if record is not None and record.is_running():
        return None
    chosen = choose_port(port, option="--serving-port", taken={avoid})
    log = paths.logs / "scoring-server.log"
    log.unlink(missing_ok=True)
    command = [runner.python, str(WARM_START), "-m", runner.target("serve"), *_serve_args(chosen)]
    process = processes.start_background(
        command, env=runner.environment(), cwd=runner.project.root, log=log, stdin=subprocess.PIPE
    )
    return WarmStart(process, chosen, log)


def ensure_scoring_server(
    runner: ProjectRunner,
    paths: WorkPaths,
    *,
    champion: str,
    port: int,
    avoid: int,
    warm: WarmStart | None = None,
) -> ScoringServer:
    """Reuse a recorded server already serving version `champion`; otherwise (re)start `serve`: the
    `warm` one when given (told to go; the caller discards an unused one), else a new process.

    `models:/<name>@champion` is resolved once, when the server starts: after the alias moves, only a
    restart serves the new champion. `avoid` is the tracking server's port.
    """
    record = processes.ServerRecord.read(paths.scoring_record)
    if record is not None and record.is_running():
        same = (
            record.details.get("version") == champion and record.details.get("model") == runner.project.slug
        )
        if same and processes.is_healthy(f"{record.url}/ping"):
            return ScoringServer(record, paths.scoring_record, reused=True)
        processes.stop(record.pid)
    paths.scoring_record.unlink(missing_ok=True)
    if warm is not None:
        chosen, log, process = warm.port, warm.log, warm.process
        warm.go()
    else:
        chosen = choose_port(port, option="--serving-port", taken={avoid})
        log = paths.logs / "scoring-server.log"
        log.unlink(missing_ok=True)
        command = runner.module_command("serve", _serve_args(chosen))
        process = processes.start_background(
            command, env=runner.environment(), cwd=runner.project.root, log=log
        )
    record = processes.ServerRecord(
        name="MLflow scoring server",
        pid=process.pid,
        port=chosen,
        url=f"http://{LOOPBACK}:{chosen}",
        log=str(log),
        # `serve` runs MLflow's scoring app in-process (behind the project's request guard).
        markers=(runner.target("serve"), f"--port {chosen}"),
        details={"version": champion, "model": runner.project.slug},
    )
    record.write(paths.scoring_record)
    return ScoringServer(record, paths.scoring_record, reused=False, process=process)


def wait_for(server: ScoringServer, timeout: float) -> float:
    return processes.wait_until_healthy(
        f"{server.url}/ping",
        what="the MLflow scoring server",
        timeout=timeout,
        log=Path(server.record.log),
        process=server.process,
    )


@dataclass(frozen=True)
class SmokeResult:
    predictions: list[float]
    malformed_status: int
    malformed_message: str


def post_json(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        raw = err.read().decode(errors="replace")
        try:
            return err.code, json.loads(raw)
        except json.JSONDecodeError:
            return err.code, {"message": raw}


def smoke_test(server_url: str, request: Path, malformed: Path, *, dropped_column: str) -> SmokeResult:
    """A valid body must answer 200 with one prediction per row; a body missing `dropped_column` must
    answer 4xx with a message that names that column."""
    invocations = f"{server_url}/invocations"
    body = request.read_bytes()
    rows = len(json.loads(body)["dataframe_split"]["data"])
    status, answer = post_json(invocations, body)
    predictions = answer.get("predictions")
    if status != 200 or not isinstance(predictions, list) or len(predictions) != rows:
        msg = f"POST {invocations} with {rows} valid rows answered {status}: {answer}"
        raise SmokeTestError(msg)
    bad_status, bad_answer = post_json(invocations, malformed.read_bytes())
    message = str(bad_answer.get("message", bad_answer))
    if not 400 <= bad_status < 500 or dropped_column not in message:
        msg = (
            f"POST {invocations} without column {dropped_column!r} answered {bad_status} {message[:300]!r}: "
            f"expected a 4xx naming {dropped_column!r}"
        )
        raise SmokeTestError(msg)
    return SmokeResult([float(p) for p in predictions], bad_status, message)
