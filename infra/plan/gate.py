"""`python -m infra.plan.gate` (`make scan`): the policy gate every stack must pass before `pulumi up`.

For every stack it plans the program offline and writes the ARM model; it generates a project from
each cookiecutter template; offline checkov (built-in checks plus ours from policy/checkov_checks) scans
the ARM models, every pipeline, Dockerfiles, GitHub workflows and secrets across the repository, side by side
with the planning (`run_gate`). The gate passes only with zero failed checks, a scanned resource count above
zero for every stack's model, and our custom checks loaded. Every skip is printed with its reason.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.config import parse_stack_config, project_config_values
from infra.errors import AzureMlopsError
from infra.plan.artifacts import discard_artifacts, write_artifacts
from infra.plan.checkov_run import CheckovServer, Finding, apply_graph_waivers, with_copies
from infra.plan.engine import cycle_collection_paused, run_program
from infra.plan.scan_inputs import (
    ScanInputs,
    generate_projects,
    prepare_folder,
    stage_pipelines,
    stage_template,
)
from infra.plan.scenarios import SCENARIOS, Scenario
from infra.plan.stack_files import available_stacks, load_stack_config

CUSTOM_CHECK_PREFIX = "CKV_AMLOPS_"
MODEL_FRAMEWORKS = ("arm", "secrets")
"""What checkov scans each staged ARM model with (the repository scan skips their folder)."""


@dataclass
class GateResult:
    """The outcome of one gate run."""

    findings: list[Finding]
    inputs: ScanInputs
    resources_scanned: dict[str, int] = field(default_factory=dict)
    """Stack -> resources of its ARM model that checkov evaluated."""
    idle_cost: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Why the gate fails; empty when it passes."""
    secrets_files: dict[str, list[str]] = field(default_factory=dict)
    """Each file the repository's secrets scan read -> its copies (same content and name), reported alike."""
    secrets_unread: list[str] = field(default_factory=list)
    """Files the secrets scan left out because detect-secrets drops them unread (lock, binary, Swagger files)."""

    @property
    def passed(self) -> bool:
        return not self.problems

    def of(self, result: str) -> list[Finding]:
        return [f for f in self.findings if f.result == result]

    def passed_per_stack(self) -> dict[str, int]:
        counts = Counter(
            self.inputs.stacks[f.file] for f in self.of("passed") if f.file in self.inputs.stacks
        )
        return {stack: counts.get(stack, 0) for stack in self.inputs.stacks.values()}


def _source(path: str, inputs: ScanInputs, root: Path) -> str:
    if path in inputs.sources:
        return inputs.sources[path]
    if path in inputs.stacks:
        return f"ARM model of stack {inputs.stacks[path]}"
    resolved = Path(path)
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else path


def _other_outputs(root: Path, scan_dir: Path) -> str:
    """A checkov skip pattern for the build folder (plan output, earlier scans) except this scan's folder."""
    scan_dir = scan_dir.resolve()
    parent = scan_dir.parent.relative_to(root) if scan_dir.parent.is_relative_to(root) else scan_dir.parent
    return rf"{re.escape(str(parent))}/(?!{re.escape(scan_dir.name)}(/|$))"


def _folder(path: Path) -> str:
    """A checkov skip pattern for `path` (absolute) and everything under it."""
    return rf"^{re.escape(str(path.resolve()))}(/|$)"


def run_gate(
    root: Path,
    stacks: list[str],
    out_dir: Path,
    scan_dir: Path,
    scenarios: Mapping[str, Scenario] | None = None,
) -> GateResult:
    """Plan `stacks` and `scenarios`, stage everything under `scan_dir`, run checkov and judge the result.

    One checkov process (infra/plan/checkov_run.py) imports checkov and then runs each scan in a fork of itself,
    side by side with the gate's work and at a lower priority: the repository's own files while the gate
    generates and stages projects and pipelines, then those, then each stack's ARM model as soon as it is planned.
    A folder's secrets are a scan of their own that reads each distinct file once, split between one fork per
    core. Each model is scanned on its own, so checkov's graph of it holds that deployment's resources only (one
    run over all models gave the same results).
    """
    root = root.resolve()
    # Every stack's configuration is read and validated first: a bad stack file is refused before anything runs.
    configs = {stack: load_stack_config(root, stack) for stack in stacks}
    configs |= {name: scenario.config(root) for name, scenario in (scenarios or {}).items()}
    validated = {name: parse_stack_config(project_config_values(values)) for name, values in configs.items()}
    with CheckovServer(root, root / "policy" / "checkov_checks") as checkov:
        inputs = prepare_folder(scan_dir)
        for stack in configs:
            discard_artifacts(out_dir, stack)
        # The repository's own files first: their scan waits for nothing the gate makes.
        scans = [checkov.scan(root, skipped_paths=[_other_outputs(root, scan_dir), _folder(inputs.folder)])]
        stage_pipelines(root / "pipelines", "pipelines", inputs, root)
        generate_projects(root / "templates", inputs)
        for project in inputs.generated:
            stage_pipelines(project, project.parent.name, inputs, root)
        scans.append(
            checkov.scan(
                inputs.folder,
                skipped_paths=[_folder(inputs.folder / "arm")],
                # Renamed byte copies of pipeline files (scan_inputs.stage_pipelines) for the azure_pipelines
                # framework; the secrets scans read each source under its own name (pipelines/, generated/).
                secrets_skipped_paths=[_folder(inputs.folder / "pipelines")],
            )
        )
        idle: dict[str, float] = {}
        for stack, config in configs.items():
            plan = run_program(stack, config, validated=validated[stack])
            artifacts = write_artifacts(plan, out_dir)
            scans.append(checkov.scan(stage_template(stack, artifacts.template, inputs), MODEL_FRAMEWORKS))
            idle[stack] = artifacts.cost.idle
        findings = [finding for scan in scans for finding in scan.findings()]
    findings = apply_graph_waivers(with_copies(findings, inputs.copies, "azure_pipelines"), inputs.templates)
    result = GateResult(
        findings,
        inputs,
        idle_cost=idle,
        secrets_files=scans[0].secrets_files | scans[1].secrets_files,
        secrets_unread=scans[0].secrets_unread + scans[1].secrets_unread,
    )
    for path, stack in inputs.stacks.items():
        result.resources_scanned[stack] = len({f.resource for f in findings if f.file == path})
        if result.resources_scanned[stack] == 0:
            result.problems.append(f"stack {stack}: checkov scanned 0 resources of its ARM model {path}")
    if not any(f.check_id.startswith(CUSTOM_CHECK_PREFIX) for f in findings):
        result.problems.append(
            "no CKV_AMLOPS_* result: the custom checks in policy/checkov_checks did not load"
        )
    for f in result.of("failed"):
        detail = f" ({'; '.join(f.details)})" if f.details else ""
        result.problems.append(
            f"{f.check_id} failed on {f.resource} in {_source(f.file, inputs, root)}{detail}"
        )
    return result


def print_result(result: GateResult, root: Path, console: Console) -> None:
    """Counts per framework and stack, every skip with its reason, every failure."""
    table = Table(title="checkov results")
    for column in ("framework", "passed", "failed", "skipped"):
        table.add_column(column)
    for framework in sorted({f.framework for f in result.findings}):
        counts = Counter(f.result for f in result.findings if f.framework == framework)
        table.add_row(escape(framework), *(str(counts.get(k, 0)) for k in ("passed", "failed", "skipped")))
    console.print(table)
    passed = result.passed_per_stack()
    for stack, count in result.resources_scanned.items():
        console.print(
            f"stack [bold]{escape(stack)}[/]: {count} resources scanned, {passed[stack]} checks passed, "
            f"idle list price {result.idle_cost[stack]:,.2f} USD/month"
        )
    copies = sum(len(more) for more in result.inputs.copies.values())
    console.print(
        f"pipelines scanned: {len(result.inputs.sources)} staged files (and {copies} byte copies of them); "
        "generated projects: "
        f"{escape(str([p.parent.name for p in result.inputs.generated] or 'none'))}"
    )
    copies = sum(len(more) for more in result.secrets_files.values())
    console.print(
        f"secrets scanned in {len(result.secrets_files) + copies} repository files ({copies} of them copies of "
        f"another, read once); {len(result.secrets_unread)} lock or binary files left out unread"
    )
    for note in result.inputs.template_notes:
        console.print(f"[yellow]note[/]: {escape(note)}", highlight=False)
    console.print(f"[bold]skips ({len(result.of('skipped'))})[/]")
    for f in sorted(result.of("skipped"), key=lambda f: (f.file, f.resource, f.check_id)):
        console.print(
            escape(f"  {f.check_id} {f.resource} [{_source(f.file, result.inputs, root)}]: {f.reason}"),
            highlight=False,
        )
    for problem in result.problems:
        console.print(f"[bold red]FAIL[/] {escape(problem)}", highlight=False)
    verdict = (
        "[bold green]gate passed[/]"
        if result.passed
        else f"[bold red]gate failed ({len(result.problems)})[/]"
    )
    console.print(verdict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan.gate", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (holds Pulumi.yaml)")
    parser.add_argument(
        "--stack", action="append", help="stack to gate (repeatable); default: every stack and scenario"
    )
    parser.add_argument("--out", type=Path, default=Path("build/plan"), help="plan output folder")
    parser.add_argument(
        "--scan-dir", type=Path, default=Path("build/scan"), help="staging folder for the scan"
    )
    args = parser.parse_args(argv)
    console = Console()
    stacks = args.stack or available_stacks(args.root)
    # Scenarios (infra/plan/scenarios.py) switch on features no committed stack uses yet, e.g. Databricks.
    scenarios = {} if args.stack else SCENARIOS
    try:
        # Planning and staging would otherwise trigger full collections over everything the runs left behind.
        with cycle_collection_paused():
            result = run_gate(args.root, stacks, args.out, args.scan_dir, scenarios)
            # The plans' objects live until the process ends; frozen, no collection (this one's first, the exit's)
            # walks them again for nothing.
            gc.freeze()
    except AzureMlopsError as err:
        console.print(f"[bold red]gate could not run[/]\n{escape(str(err))}", highlight=False)
        return 2
    print_result(result, args.root.resolve(), console)
    report = {"problems": result.problems, "findings": [asdict(f) for f in result.findings]}
    (args.scan_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
