"""Copy the reusable pipeline templates and scripts into templates/mlflow-project, byte for byte.

    python -m pipelines.sync_template          # write the copies (make sync-template)
    python -m pipelines.sync_template --check  # exit 1 and name every copy that drifted

A generated project must run its pipelines when it is pushed on its own to Azure DevOps or GitHub, so it
carries copies of what its pipelines use. `pipelines/` stays the one source of truth: edit there, then sync.
The copies keep their import path (`pipelines.scripts.<name>`), so `python -m pipelines.scripts.aml_job_wait`
works from the project root exactly as it does here, and the templates' `module:` parameter needs no change.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = REPO / "templates" / "mlflow-project" / "{{ cookiecutter.project_slug|slugify }}"

TEMPLATE_FILES: tuple[str, ...] = (
    "steps/setup-python-uv.yml",
    "steps/aml-script.yml",
    "jobs/aml-assets.yml",
    "jobs/aml-job.yml",
    "jobs/aml-job-wait.yml",
    "jobs/aml-job-wait-attempt.yml",
    "jobs/blue-green-deploy.yml",
    "jobs/batch-deploy.yml",
)
"""Azure Pipelines templates the project's cd.yml uses, relative to pipelines/azure-pipelines/templates/."""

SCRIPT_FILES: tuple[str, ...] = (
    "__init__.py",
    "scripts/__init__.py",
    "scripts/ado.py",
    "scripts/aml_assets.py",
    "scripts/aml_assets_client.py",
    "scripts/aml_boundary.py",
    "scripts/aml_client.py",
    "scripts/aml_job_submit.py",
    "scripts/aml_job_wait.py",
    "scripts/batch_invoke.py",
    "scripts/blue_green.py",
    "scripts/cli.py",
    "scripts/endpoint_diagnostics.py",
    "scripts/errors.py",
    "scripts/exit_codes.py",
    "scripts/traffic_plan.py",
)
"""The scripts those templates (and the GitHub workflows) run, with their imports, relative to pipelines/.

model_register is left out on purpose: the project registers through MLflow inside its Azure ML pipeline (the
gate moves the champion alias) and shares with its own promote step; teardown_guard belongs to infra.
"""

# Folders the sync owns in the project template: a file there that is not a copy is stale and goes.
OWNED_FOLDERS: tuple[Path, ...] = (
    PROJECT_TEMPLATE / ".azure-pipelines" / "templates",
    PROJECT_TEMPLATE / "pipelines",
)


@dataclass(frozen=True)
class Copy:
    """One file of pipelines/ and where its copy lives in the project template."""

    source: Path
    target: Path

    def drifted(self) -> bool:
        return not self.target.is_file() or self.target.read_bytes() != self.source.read_bytes()


def copies(repo: Path = REPO, project: Path = PROJECT_TEMPLATE) -> list[Copy]:
    """Every source -> copy pair, templates first."""
    templates = repo / "pipelines" / "azure-pipelines" / "templates"
    return [
        *(
            Copy(templates / name, project / ".azure-pipelines" / "templates" / name)
            for name in TEMPLATE_FILES
        ),
        *(Copy(repo / "pipelines" / name, project / "pipelines" / name) for name in SCRIPT_FILES),
    ]


def _shown(path: Path) -> str:
    """`path` relative to the repository when it is inside it (messages name files the way git does)."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _stale(pairs: Sequence[Copy], owned: Sequence[Path]) -> list[Path]:
    expected = {pair.target for pair in pairs}
    return sorted(
        path
        for folder in owned
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path not in expected
    )


def problems(pairs: Sequence[Copy] | None = None, owned: Sequence[Path] = OWNED_FOLDERS) -> list[str]:
    """One line per copy that is missing or differs, and per stray file in a folder the sync owns."""
    pairs = copies() if pairs is None else pairs
    found: list[str] = []
    for pair in pairs:
        target, source = _shown(pair.target), _shown(pair.source)
        if not pair.target.is_file():
            found.append(f"{target} is missing (copy of {source})")
        elif pair.drifted():
            found.append(f"{target} differs from {source}")
    found += [f"{_shown(path)} is not a copy of anything in pipelines/" for path in _stale(pairs, owned)]
    return found


def sync(pairs: Sequence[Copy] | None = None, owned: Sequence[Path] = OWNED_FOLDERS) -> list[Path]:
    """Write every drifted copy and delete stray files; return the paths that changed."""
    pairs = copies() if pairs is None else pairs
    changed: list[Path] = []
    for pair in pairs:
        if pair.drifted():
            pair.target.parent.mkdir(parents=True, exist_ok=True)
            pair.target.write_bytes(pair.source.read_bytes())
            changed.append(pair.target)
    for path in _stale(pairs, owned):
        path.unlink()
        changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="report drift and exit 1 instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("run `python -m pipelines.sync_template` (make sync-template)", file=sys.stderr)
        return 1 if found else 0
    for path in sync():
        print(f"synced {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
