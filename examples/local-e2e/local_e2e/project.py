"""The generated project: made from the cookiecutter template with its default answers, and its entry
points run as the project's own code (with the project's src/ on PYTHONPATH, in one project worker)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from local_e2e.errors import StageFailedError
from local_e2e.variants import VARIANTS, Variant
from local_e2e.workdir import WorkPaths
from local_e2e.worker import PendingStep, ProjectWorker, StepOutput

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "templates" / "mlflow-project"
_IGNORED_PARTS = {"__pycache__", ".ruff_cache", ".pytest_cache"}
# Variables that would attach the steps to someone else's run or experiment.
_INHERITED_MLFLOW = ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_URI")


@dataclass(frozen=True)
class Project:
    root: Path
    package: str
    slug: str
    template_fingerprint: str

    @property
    def src(self) -> Path:
        return self.root / "src"


@dataclass(frozen=True)
class ProjectChoice:
    project: Project
    generated: bool
    reason: str


def template_fingerprint(template: Path = TEMPLATE) -> str:
    """A hash of every template file's path and content: it changes exactly when the template does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in template.rglob("*") if p.is_file() and not _IGNORED_PARTS & set(p.parts)):
        digest.update(str(path.relative_to(template)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_project(
    paths: WorkPaths, *, regenerate: bool, variant: Variant = VARIANTS["scikit-learn"]
) -> ProjectChoice:
    """Reuse the project generated earlier when the template is unchanged; otherwise generate it.

    Reuse keeps what a user changed in the generated project and its artifacts/; a changed template means
    the demo would no longer show the current template, so the project is generated again. The MLflow
    store lives outside the project, so runs, versions and aliases survive either way.
    """
    # The variant is part of the fingerprint: switching variants generates the project again.
    fingerprint = f"{template_fingerprint()}-{variant.name}"
    previous = _read_record(paths.project_record)
    if previous is not None and previous.root.is_dir() and not regenerate:
        if previous.template_fingerprint == fingerprint:
            return ProjectChoice(previous, generated=False, reason="reused: the template is unchanged")
        reason = "generated again: the template changed since the last run"
    elif regenerate:
        reason = "generated again: --regenerate"
    else:
        reason = "generated: first run in this work folder"
    if previous is not None and previous.root.is_dir():
        shutil.rmtree(previous.root)
    project = generate(paths.root, fingerprint, variant.answers)
    paths.project_record.write_text(
        json.dumps({**asdict(project), "root": str(project.root)}, indent=2) + "\n"
    )
    return ProjectChoice(project, generated=True, reason=reason)


def generate(output_dir: Path, fingerprint: str, answers: dict[str, str] | None = None) -> Project:
    """Generate with the template's default answers (what `cookiecutter --no-input` does), plus `answers`."""
    from cookiecutter.main import cookiecutter  # imported here: only generation needs it

    root = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context=answers or {},
            output_dir=str(output_dir),
            overwrite_if_exists=True,
        )
    )
    packages = [init.parent.name for init in (root / "src").glob("*/__init__.py")]
    if len(packages) != 1:
        msg = f"generated project {root}: expected one package under src/, found {packages}"
        raise StageFailedError(msg, stage="project", log=str(root))
    return Project(root=root, package=packages[0], slug=root.name, template_fingerprint=fingerprint)


def _read_record(path: Path) -> Project | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Project(**{**raw, "root": Path(raw["root"])})
    except (FileNotFoundError, ValueError, TypeError, KeyError):
        return None


class ProjectRunner:
    """Runs the project's entry points with the variant's interpreter, tracking to the demo's server: the
    steps in one project worker (see worker.py), the scoring server as its own process."""

    def __init__(
        self, project: Project, tracking_uri: str, logs: Path, timeout: float, python: Path | None = None
    ) -> None:
        self.project = project
        self.python = str(python or sys.executable)
        self.tracking_uri = tracking_uri
        self.logs = logs
        self.timeout = timeout
        self.worker = ProjectWorker(self.python, self.environment(), project.root, logs, timeout)

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _INHERITED_MLFLOW}
        bin_dir = str(Path(self.python).parent)
        return {
            **env,
            "PYTHONPATH": str(self.project.src),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            # Tools the project starts by name (mlflow) must be this interpreter's: its bin folder goes first.
            "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")]),
        }

    def module_command(self, module: str, args: Sequence[str]) -> list[str]:
        return [self.python, "-m", f"{self.project.package}.{module}", *args]

    def target(self, module: str) -> str:
        return f"{self.project.package}.{module}"

    def start_module(self, stage: str, module: str, args: Sequence[str] = ()) -> PendingStep:
        """Queue `python -m <package>.<module> args` in the worker; output to logs/<stage>.log."""
        return self.worker.submit(stage, self.target(module), args)

    def run_module(self, stage: str, module: str, args: Sequence[str] = ()) -> StepOutput:
        return self.start_module(stage, module, args).wait()

    def start_helper(self, stage: str, helper: str, args: Sequence[str]) -> PendingStep:
        """Queue one of in_project's helpers (they run in the worker too)."""
        return self.worker.submit(stage, helper, args)

    def close(self) -> None:
        self.worker.close()
