"""The local loop of a project generated for the user's own file, shared by the own-data tests.

A project's own entry points run as a user runs them (in its folder, its src/ on PYTHONPATH, a temporary
MLflow store), plus the batches and drift report of examples/local-e2e and the scoring server over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.templates.generation import REPO, VENV_BIN, run_tool

LOCAL_E2E = REPO / "examples" / "local-e2e"
IN_PROJECT = LOCAL_E2E / "local_e2e" / "in_project"
if str(LOCAL_E2E) not in sys.path:
    sys.path.insert(0, str(LOCAL_E2E))
from local_e2e.processes import is_healthy  # noqa: E402
from local_e2e.scoring_server import post_json  # noqa: E402

__all__ = ["IN_PROJECT", "Loop", "ok", "post_json"]


class Loop:
    """The project's own commands, run in its folder with its src/ on PYTHONPATH and a temporary MLflow store."""

    def __init__(self, project: Path, store: Path, package: str) -> None:
        self.project, self.package = project, package
        self.tracking_uri = f"sqlite:///{store / 'mlflow.db'}"
        kept = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
        self.env = {**kept, "PATH": os.pathsep.join([str(VENV_BIN), kept.get("PATH", "")]),
                    "PYTHONPATH": str(project / "src"), "MLFLOW_TRACKING_URI": self.tracking_uri}  # fmt: skip

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return run_tool(VENV_BIN / "python", *args, cwd=self.project, env=self.env, timeout=600)

    def module(self, name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return self.run("-m", f"{self.package}.{name}", *args)

    @contextmanager
    def served(self) -> Iterator[str]:
        """`python -m <package>.serve` (the champion) on a free port; yields its /invocations URL."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = (self.project / "serve.log").open("w")
        server = subprocess.Popen(
            [VENV_BIN / "python", "-m", f"{self.package}.serve", "--port", str(port)],
            cwd=self.project, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while not is_healthy(f"http://127.0.0.1:{port}/ping"):
                alive = server.poll() is None and time.monotonic() < deadline
                assert alive, (self.project / "serve.log").read_text()[-3000:]
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}/invocations"
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout
