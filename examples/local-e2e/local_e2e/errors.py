"""The demo's exceptions: one base class, one subclass per condition; run_demo.py maps them to exit codes."""

from __future__ import annotations


class DemoError(Exception):
    """Base class for the demo's errors: reported as one clear message, never as a traceback."""


class InvalidOptionError(DemoError):
    """Raised when a command-line option has a value outside its rule (the message names both)."""


class PortUnavailableError(DemoError):
    """Raised when no free loopback port is found near the one asked for."""


class ServerStartError(DemoError):
    """Raised when a server exits or stays unhealthy past its start-up budget; carries its log's tail."""


class DemoBusyError(DemoError):
    """Raised when another demo already runs in the same work folder (they would share one sqlite store)."""


class StageFailedError(DemoError):
    """Raised when one of the project's entry points exits non-zero or times out."""

    def __init__(self, message: str, *, stage: str, log: str) -> None:
        self.stage = stage
        self.log = log
        super().__init__(f"stage {stage!r} failed: {message} (full log: {log})")


class SmokeTestError(DemoError):
    """Raised when the scoring endpoint answers a valid request wrongly, or a malformed one with a 2xx."""


class DataValidationError(DemoError):
    """Raised when prep refuses the data (schema violations, unreadable file): nothing is trained or registered."""


class NoChampionError(DemoError):
    """Raised when the gate rejected the candidate and no earlier champion exists, so nothing can be served."""


class LifecycleDemoError(DemoError):
    """Raised when the lifecycle dry run tries to reach the outside world, or the handler refuses its event."""
