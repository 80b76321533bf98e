"""Azurite, Microsoft's Azure Storage emulator, run for real on loopback for the tests.

`make setup-azurite` installs the version pinned by tests/support/azurite/package-lock.json into
tests/support/azurite/node_modules. start() runs its Table and Queue services (and Blob, which nothing uses)
in memory on ports the operating system picks (port 0, read back from the emulator's own "listening at"
lines, so nothing is hard-coded and two test workers never collide), checks that they accept connections,
and returns the connection details of the emulator's well-known development account. stop() terminates it.
"""

from __future__ import annotations

import atexit
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

AZURITE_DIR = Path(__file__).resolve().parent / "azurite"
AZURITE_BIN = AZURITE_DIR / "node_modules" / ".bin" / "azurite"
HOST = "127.0.0.1"
# The emulator's published development account (learn.microsoft.com: "Use Azurite for local Azure Storage
# development", well-known storage account and key): not a secret.
ACCOUNT = "devstoreaccount1"
# checkov:skip=CKV_SECRET_3: Azurite's published development account key, the same on every machine, not a secret
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
FLAGS = (
    "--inMemoryPersistence",
    "--extentMemoryLimit",
    "256",
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
    "--disableTelemetry",
    "--blobHost",
    HOST,
    "--queueHost",
    HOST,
    "--tableHost",
    HOST,
    "--blobPort",
    "0",
    "--queuePort",
    "0",
    "--tablePort",
    "0",
)
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")
START_TIMEOUT = 60.0


class AzuriteError(RuntimeError):
    """Azurite is not installed, or did not start."""


@dataclass
class Azurite:
    """A running emulator: its process, the ports of its services and everything it printed."""

    process: subprocess.Popen[str]
    workspace: Path
    ports: dict[str, int] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def endpoint(self, service: str) -> str:
        """The account's endpoint of `service` (queue or table), path-style as the emulator serves it."""
        return f"http://{HOST}:{self.ports[service.capitalize()]}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """The development account's connection string, naming the Queue and Table endpoints."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint('blob')};QueueEndpoint={self.endpoint('queue')};"
            f"TableEndpoint={self.endpoint('table')};"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.workspace, ignore_errors=True)


def start(timeout: float = START_TIMEOUT) -> Azurite:
    """Start Azurite and return it once its Queue and Table services accept connections."""
    if not AZURITE_BIN.is_file():
        msg = f"Azurite is not installed ({AZURITE_BIN} is missing): run `make setup-azurite`"
        raise AzuriteError(msg)
    # In memory, nothing is written; its working directory is a fresh folder all the same, removed at stop().
    workspace = Path(tempfile.mkdtemp(prefix="azurite-"))
    process = subprocess.Popen(
        [str(AZURITE_BIN), *FLAGS],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Azurite(process, workspace)
    assert process.stdout is not None
    # Read the output on a thread: the ports are announced there, and a full pipe would block the emulator.
    server.reader = threading.Thread(target=_read, args=(process.stdout, server), daemon=True)
    server.reader.start()
    deadline = time.monotonic() + timeout
    try:
        while not {"Queue", "Table"} <= server.ports.keys():
            if process.poll() is not None:
                _fail(server, f"Azurite exited with code {process.returncode} before listening")
            if time.monotonic() > deadline:
                _fail(server, f"Azurite did not listen on its Queue and Table ports within {timeout:g} s")
            time.sleep(0.05)
        for service in ("Queue", "Table"):
            _wait_for_port(server, service, deadline, timeout)
    except BaseException:
        server.stop()
        raise
    # Stopped at interpreter exit too, should the caller never reach stop() (an error, an interrupted run).
    atexit.register(server.stop)
    return server


def _read(stream: object, server: Azurite) -> None:
    for line in stream:  # type: ignore[attr-defined]
        server.output.append(line.rstrip("\n"))
        found = _LISTENING.search(line)
        if found:
            server.ports[found.group(1)] = int(found.group(2))


def _wait_for_port(server: Azurite, service: str, deadline: float, timeout: float) -> None:
    while True:
        try:
            with socket.create_connection((HOST, server.ports[service]), timeout=1):
                return
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                _fail(server, f"Azurite's {service} service did not accept connections within {timeout:g} s")
            time.sleep(0.05)


def _fail(server: Azurite, reason: str) -> None:
    if server.process.poll() is not None and server.reader is not None:
        server.reader.join(timeout=5)  # an exited emulator's last lines may still be in the pipe
    output = "\n".join(server.output[-40:]) or "(no output)"
    msg = f"{reason}. Its output:\n{output}"
    raise AzuriteError(msg)
