"""Background servers: start in their own session, wait (bounded) until healthy, record, and stop by PID.

A record (a small JSON file) outlives the demo when it keeps servers running, so the next run can reuse
them, or find that the PID is gone or belongs to another program now (a stale record) and start afresh.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from local_e2e.errors import ServerStartError

POLL_SECONDS = 0.25
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class ServerRecord:
    """A server the demo started: enough to find it again, check it is still ours, and stop it."""

    name: str
    pid: int
    port: int
    url: str
    log: str
    markers: tuple[str, ...]
    """Substrings of the command line that identify this server: a reused PID will not have them all."""
    details: dict[str, str] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ServerRecord | None:
        """The record at `path`, or None when there is none or it cannot be parsed (then it is removed)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{**raw, "markers": tuple(raw["markers"])})
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError):
            path.unlink(missing_ok=True)
            return None

    def is_running(self) -> bool:
        """Whether the recorded PID is alive and still runs this server's command line."""
        command = command_line(self.pid)
        return command is not None and all(marker in command for marker in self.markers)


@dataclass
class RunningServer:
    """A server this run uses: started now (`process` set, this run reaps it) or reused from a record."""

    record: ServerRecord
    record_path: Path
    reused: bool
    """True when a server a --keep-running demo left up was healthy and is used again."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.record.url

    def stop(self) -> None:
        stop(self.record.pid, process=self.process)
        self.record_path.unlink(missing_ok=True)


def command_line(pid: int) -> str | None:
    """The command line of `pid` (space-joined), or None when no such live process exists."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return None
    if state == "Z":  # a zombie has exited; only its parent's wait() is missing
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def start_background(
    command: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, stdin: int | None = None
) -> subprocess.Popen[bytes]:
    """Start `command` in a new session (its own process group), output appended to `log`; `stdin`
    (e.g. subprocess.PIPE) as Popen takes it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as stream:
        # A session of its own: stopping it signals the whole group (servers fork workers), and a Ctrl-C in
        # the terminal reaches only the demo, which then stops the servers itself, in order.
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """Status and body of GET `url`; connection failures raise OSError (URLError is one)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def is_healthy(url: str) -> bool:
    try:
        status, _ = http_get(url, timeout=1.0)
    except OSError:
        return False
    return status == 200


def wait_until_healthy(
    health_url: str, *, what: str, timeout: float, log: Path, process: subprocess.Popen[bytes] | None = None
) -> float:
    """Poll `health_url` until it answers 200; return the seconds waited.

    Gives up when `process` exits or after `timeout` seconds, raising ServerStartError with the log's tail.
    """
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        if is_healthy(health_url):
            return time.monotonic() - start
        if process is not None and process.poll() is not None:
            msg = f"{what} exited with code {process.returncode} while starting:\n{tail(log)}"
            raise ServerStartError(msg)
        time.sleep(POLL_SECONDS)
    msg = (
        f"{what} did not answer {health_url} within {timeout:.0f} s (raise --startup-timeout on a slow "
        f"machine):\n{tail(log)}"
    )
    raise ServerStartError(msg)


def stop(
    pid: int, *, process: subprocess.Popen[bytes] | None = None, grace: float = STOP_GRACE_SECONDS
) -> None:
    """Stop the process group led by `pid` (started by `start_background`): TERM, then KILL after `grace`."""
    if not _signal_group(pid, signal.SIGTERM):
        _reap(process)
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        if process is None and command_line(pid) is None:
            break
        time.sleep(POLL_SECONDS)
    # Whatever the leader did, workers it forked may linger in the group: KILL reaches every one of them.
    _signal_group(pid, signal.SIGKILL)
    _reap(process)


def _signal_group(pid: int, signum: signal.Signals) -> bool:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _reap(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_GRACE_SECONDS)


def tail(log: Path, lines: int = 15) -> str:
    """The last `lines` lines of `log`, indented, for error messages."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"  (no log at {log})"
    return "\n".join(f"  {line}" for line in text.splitlines()[-lines:])
