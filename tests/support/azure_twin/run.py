"""What a pipeline run did in the twin: each job's result and every step, with its caller and output."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepRun:
    job: str
    name: str
    caller: str
    exit_code: int | None
    """None when the step was skipped."""
    output: str = ""
    skipped_because: str = ""


@dataclass
class PipelineRun:
    """What happened: each job's result and every step that ran, with its output."""

    results: dict[str, str] = field(default_factory=dict)
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    """`stage.job` -> the agent it ran on (its pool, or the Microsoft-hosted image)."""

    def failures(self) -> list[str]:
        return [
            f"{s.job}/{s.name} ({s.caller}) exit {s.exit_code}:\n{s.output[-3000:]}"
            for s in self.steps
            if s.exit_code
        ]
