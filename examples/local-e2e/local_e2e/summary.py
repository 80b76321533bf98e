"""What a demo run did, as one JSON-able record, and how it is shown: stage lines and the final summary."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from local_e2e.lifecycle import reaction_line

StageStatus = Literal["ok", "reused", "rejected", "failed", "skipped", "interrupted"]
_STYLE: dict[str, tuple[str, str]] = {
    "ok": ("✓", "green"),
    "reused": ("↺", "cyan"),
    "rejected": ("✗", "yellow"),
    "failed": ("✗", "red"),
    "skipped": ("-", "dim"),
    "interrupted": ("!", "red"),
}


@dataclass
class StageTiming:
    name: str
    seconds: float = 0.0
    status: StageStatus = "ok"
    detail: str = ""


@dataclass
class DemoSummary:
    """Everything the final summary shows; also written to <workdir>/summary.json for tests and benchmarks."""

    workdir: str
    model_name: str = ""
    outcome: str = ""
    exit_code: int = 0
    project: dict[str, str] = field(default_factory=dict)
    tracking_url: str = ""
    champion_before: str | None = None
    champion_after: str | None = None
    gate: dict[str, Any] | None = None
    registered_version: str | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, str]] = field(default_factory=list)
    endpoint: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    drift: list[dict[str, Any]] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    """Per drifted batch: the breach event's ID and what the lifecycle handler decided (see lifecycle.py)."""
    stages: list[StageTiming] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    kept_running: list[str] = field(default_factory=list)
    error: str | None = None
    total_seconds: float = 0.0

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> DemoSummary:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["stages"] = [StageTiming(**stage) for stage in raw.get("stages", [])]
        return cls(**raw)


def stage_line(stage: StageTiming) -> str:
    """One progress line, rich markup: icon, name, seconds, what happened."""
    icon, style = _STYLE[stage.status]
    return f"[{style}]{icon}[/] {stage.name:<16} {stage.seconds:6.1f} s  {stage.detail}"


class Progress:
    """Shows a spinner while a stage runs and a line when it ends; keeps every stage's timing."""

    def __init__(self, console: Console, summary: DemoSummary) -> None:
        self.console = console
        self.summary = summary

    @contextmanager
    def stage(self, name: str, doing: str) -> Iterator[StageTiming]:
        timing = StageTiming(name)
        start = time.perf_counter()
        try:
            with self.console.status(f"[bold]{name}[/]: {doing}"):
                yield timing
        except KeyboardInterrupt:
            timing.status, timing.detail = "interrupted", "interrupted by the user"
            raise
        except Exception:
            if timing.status == "ok":
                timing.status = "failed"
            raise
        finally:
            timing.seconds = time.perf_counter() - start
            self.summary.stages.append(timing)
            self.console.print(stage_line(timing), highlight=False)

    def skip(self, name: str, why: str) -> None:
        timing = StageTiming(name, 0.0, "skipped", why)
        self.summary.stages.append(timing)
        self.console.print(stage_line(timing), highlight=False)


def versions_line(versions: list[dict[str, Any]]) -> str:
    """'v1, v2 @champion' style: every version, aliases after the one they point at."""
    if not versions:
        return "none registered"
    parts = []
    for version in versions:
        aliases = " ".join(f"@{alias}" for alias in version.get("aliases", []))
        parts.append(f"v{version['version']}" + (f" {aliases}" if aliases else ""))
    return ", ".join(parts)


def gate_line(summary: DemoSummary) -> str:
    gate = summary.gate
    if gate is None:
        return "not reached"
    against = f"champion v{gate['champion_version']}" if gate.get("champion_version") else "no champion yet"
    if gate["passed"]:
        return f"PASSED against {against}: registered v{summary.registered_version} as @champion"
    reasons = "; ".join(gate.get("failures", [])) or "see the evaluate log"
    return f"REJECTED against {against}: {reasons}"


def drift_line(item: dict[str, Any]) -> str:
    if item["drift"]:
        features = ", ".join(item["drifted_features"])
        return f"{item['batch']}: DRIFT in {features} (max PSI {item['max_psi']:.2f})"
    return f"{item['batch']}: no drift (max PSI {item['max_psi']:.2f}, {item['top_feature']})"


def endpoint_line(endpoint: dict[str, Any]) -> str:
    shown = ", ".join(f"{value:.1f}" for value in endpoint["predictions"])
    how = "reused" if endpoint.get("reused") else "started"
    return (
        f"{endpoint['url']}/invocations ({how}, serving v{endpoint['version']}): [{shown}]; "
        f"a body without {endpoint['dropped_column']!r} answered {endpoint['malformed_status']}"
    )


def summary_table(summary: DemoSummary) -> Table:
    table = Table(title=f"Demo summary: {summary.outcome}", show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("project", f"{summary.project.get('path', '-')} ({summary.project.get('decision', '-')})")
    table.add_row("gate", gate_line(summary))
    table.add_row(
        "registry",
        f"{summary.model_name}: {versions_line(summary.versions)} (champion before: "
        f"{_version(summary.champion_before)}, after: {_version(summary.champion_after)})",
    )
    table.add_row("runs", "\n".join(f"{run['name']}: {run['run_id']}" for run in summary.runs) or "-")
    table.add_row("endpoint", endpoint_line(summary.endpoint) if summary.endpoint else "not served")
    if summary.batch:
        table.add_row("batch", f"scored {summary.batch['rows']} rows into {summary.batch['output']}")
    table.add_row("drift", "\n".join(drift_line(item) for item in summary.drift) or "not reported")
    if summary.drift:
        table.add_row(
            "lifecycle",
            "\n".join(reaction_line(item) for item in summary.lifecycle)
            or "no batch drifted: no breach event, nothing to queue",
        )
    table.add_row("MLflow UI", summary.tracking_url or "-")
    table.add_row("files", "\n".join(f"{name}: {path}" for name, path in summary.files.items()) or "-")
    table.add_row(
        "stages",
        f"{sum(s.seconds for s in summary.stages):.1f} s in stages, {summary.total_seconds:.1f} s total",
    )
    if summary.kept_running:
        table.add_row(
            "still running", "\n".join(summary.kept_running) + "\nstop with: make demo DEMO_ARGS=--stop"
        )
    if summary.error:
        table.add_row("error", summary.error)
    return table


def _version(version: str | None) -> str:
    return f"v{version}" if version else "none"
