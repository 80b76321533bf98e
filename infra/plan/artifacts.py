"""Everything `make plan` writes for a stack under build/plan/<stack>/, in one call."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import PROJECT
from infra.plan import cost, diagram
from infra.plan.arm_model import arm_template
from infra.plan.engine import Plan
from infra.plan.report import write_plan


@dataclass(frozen=True)
class StackArtifacts:
    """What was written for one stack."""

    folder: Path
    template: dict[str, Any]
    cost: cost.CostEstimate


def discard_artifacts(out_dir: Path, stack: str) -> None:
    """Remove what an earlier plan of `stack` wrote, so that a plan that fails leaves nothing stale to read."""
    shutil.rmtree(out_dir / stack, ignore_errors=True)


def write_artifacts(plan: Plan, out_dir: Path) -> StackArtifacts:
    """resources.json, outputs.json, template.json (ARM model), cost.md and architecture.md for `plan`."""
    folder = write_plan(plan, out_dir)
    template = arm_template(plan, PROJECT)
    (folder / "template.json").write_text(json.dumps(template, indent=2, sort_keys=True) + "\n")
    estimate = cost.estimate(plan)
    (folder / "cost.md").write_text(cost.render_markdown(estimate))
    (folder / "architecture.md").write_text(diagram.render_markdown(plan))
    return StackArtifacts(folder, template, estimate)
