"""The MLflow tracking server: sqlite registry, local artifact store, loopback only; reused when healthy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from local_e2e import processes
from local_e2e.options import DemoOptions
from local_e2e.ports import LOOPBACK, choose_port
from local_e2e.workdir import WorkPaths

TrackingServer = processes.RunningServer


def server_command(options: DemoOptions, port: int) -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", options.backend_store_uri,
        "--artifacts-destination", str(options.artifacts_destination),
        "--host", LOOPBACK,
        "--port", str(port),
        # One worker: a single user on a 2-core machine, and four would quadruple start-up memory.
        "--workers", "1",
    ]  # fmt: skip


def server_environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        # MLflow 3 starts a job runner with seven task-queue consumers for GenAI jobs by default;
        # the demo runs none, and they cost memory and CPU on a small machine.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }


def ensure_tracking_server(options: DemoOptions, paths: WorkPaths) -> TrackingServer:
    """Reuse the recorded server when it is ours, healthy and on the same store; else start one."""
    record = processes.ServerRecord.read(paths.tracking_record)
    if record is not None and record.is_running():
        same_store = record.details.get("backend_store_uri") == options.backend_store_uri
        if same_store and processes.is_healthy(f"{record.url}/health"):
            return TrackingServer(record, paths.tracking_record, reused=True)
        processes.stop(record.pid)  # ours but unhealthy or on another store: replace it
    paths.tracking_record.unlink(missing_ok=True)  # stale: the PID is gone or is another program now
    port = choose_port(options.tracking_port, option="--tracking-port")
    log = paths.logs / "tracking-server.log"
    log.unlink(missing_ok=True)
    process = processes.start_background(
        server_command(options, port), env=server_environment(), cwd=paths.root, log=log
    )
    record = processes.ServerRecord(
        name="mlflow tracking server",
        pid=process.pid,
        port=port,
        url=f"http://{LOOPBACK}:{port}",
        log=str(log),
        markers=("mlflow", "server", f"--port {port}", options.backend_store_uri),
        details={"backend_store_uri": options.backend_store_uri},
    )
    record.write(paths.tracking_record)  # before waiting: an interrupted start is found and stopped next time
    return TrackingServer(record, paths.tracking_record, reused=False, process=process)


def wait_for(server: TrackingServer, options: DemoOptions) -> float:
    """Block until the server answers /health (bounded by --startup-timeout); return seconds waited."""
    return processes.wait_until_healthy(
        f"{server.url}/health",
        what="the MLflow tracking server",
        timeout=options.startup_timeout,
        log=Path(server.record.log),
        process=server.process,
    )
