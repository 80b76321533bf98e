"""Where everything the demo writes lives, under one work folder, and the lock that keeps runs apart."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local_e2e.errors import DemoBusyError


@dataclass(frozen=True)
class WorkPaths:
    root: Path

    @property
    def run_dir(self) -> Path:
        """Records of the servers left running (see processes.ServerRecord)."""
        return self.root / "run"

    @property
    def tracking_record(self) -> Path:
        return self.run_dir / "tracking.json"

    @property
    def scoring_record(self) -> Path:
        return self.run_dir / "scoring.json"

    @property
    def logs(self) -> Path:
        """One log per stage and server, replaced by each run."""
        return self.root / "logs"

    @property
    def project_record(self) -> Path:
        return self.root / "project.json"

    @property
    def batches(self) -> Path:
        return self.root / "batches"

    @property
    def drift(self) -> Path:
        return self.root / "drift"

    @property
    def audit_store(self) -> Path:
        """The lifecycle handler's audit records (the audit table's local stand-in), kept across runs."""
        return self.root / "lifecycle" / "audit.json"

    @property
    def summary(self) -> Path:
        """The last run's summary as JSON: what the tests and the benchmark read."""
        return self.root / "summary.json"

    def create(self) -> None:
        for folder in (self.root, self.run_dir, self.logs, self.batches, self.drift):
            folder.mkdir(parents=True, exist_ok=True)


@contextmanager
def exclusive(paths: WorkPaths) -> Iterator[None]:
    """Hold the work folder's lock: two demos on one sqlite store and one set of ports would collide.

    The lock is an advisory flock, released by the kernel when the process dies, so an interrupted demo
    never leaves a stale lock behind.
    """
    lock_path = paths.root / "demo.lock"
    with lock_path.open("a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            msg = (
                f"--workdir {paths.root}: another demo (pid {holder}) is running there; wait for it, or "
                "pass another --workdir"
            )
            raise DemoBusyError(msg) from err
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
