"""The loop's steps on Azure, each one reuse of pipelines/scripts/ or the generated project's own code.

Every step takes the Azure boundary as an argument (the `aml_boundary` Protocols and those in boundary.py),
so the whole flow runs offline against fakes in the tests and against `AzureE2EClient` for real.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from azure_e2e.boundary import AssetsApi, ChampionApi
from azure_e2e.errors import IncompatibleVersionsError, SpecInvalidError, TrainingRejectedError
from azure_e2e.stack_outputs import StackOutputs
from pipelines.scripts import aml_job_submit, batch_invoke, exit_codes, model_register
from pipelines.scripts.aml_boundary import BatchEndpointsApi, JobsApi, ModelsApi, OnlineEndpointsApi
from pipelines.scripts.aml_job_wait import WaitPolicy, wait_for_job
from pipelines.scripts.blue_green import Release, Result, release_blue_green
from pipelines.scripts.traffic_plan import parse_traffic_steps

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "templates" / "mlflow-project"

PINS = {"mlflow": "3.15.0", "azureml-mlflow": "1.62.0.post6", "azure-ai-ml": "1.35.2"}
"""The pair Microsoft ships together (azureml-mlflow 1.62 caps mlflow-skinny at 3.15.0), and the SDK the
scripts are tested with. Anything else is refused before a job is submitted."""

_VARIABLE = re.compile(r"^##vso\[task\.setvariable variable=(\w+)[^\]]*\](.*)$", re.MULTILINE)


@dataclass(frozen=True)
class GeneratedProject:
    root: Path
    package: str
    slug: str
    endpoint: str
    batch_endpoint: str


def check_versions() -> dict[str, str]:
    """The installed versions of PINS; raise when any differs (the error names package, found and wanted)."""
    found = {}
    for package, _wanted in PINS.items():
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    wrong = [
        f"{name} {found[name]} (need {wanted})" for name, wanted in PINS.items() if found[name] != wanted
    ]
    if wrong:
        msg = f"incompatible packages: {', '.join(wrong)}; install examples/azure-e2e/requirements.txt"
        raise IncompatibleVersionsError(msg)
    return found


def workspace_argv(outputs: StackOutputs) -> list[str]:
    """The three arguments every pipelines/scripts CLI takes, from the stack outputs of the same names."""
    return ["--subscription-id", outputs.subscription_id, "--resource-group", outputs.resource_group,
            "--workspace", outputs.workspace]  # fmt: skip


def generate_project(workdir: Path, outputs: StackOutputs) -> GeneratedProject:
    """Generate the template's default project, promoting to the stack's registry; check it trains on the
    stack's CPU cluster."""
    from cookiecutter.main import cookiecutter

    root = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(workdir),
            overwrite_if_exists=True,
            # Both endpoints: the example deploys online (blue/green) and batch.
            extra_context={"deployment": "both"},
        )
    )
    pipeline = yaml.safe_load((root / "aml" / "pipeline.yml").read_text(encoding="utf-8"))
    compute = pipeline["settings"]["default_compute"]
    if compute != f"azureml:{outputs.cpu_cluster}":
        msg = f"{root}/aml/pipeline.yml: default_compute {compute!r} is not the stack's cpuClusterName {outputs.cpu_cluster!r}"
        raise SpecInvalidError(msg)
    endpoint = yaml.safe_load((root / "aml" / "online" / "endpoint.yml").read_text(encoding="utf-8"))["name"]
    batch = yaml.safe_load((root / "aml" / "batch" / "endpoint.yml").read_text(encoding="utf-8"))["name"]
    package = next(init.parent.name for init in (root / "src").glob("*/__init__.py"))
    return GeneratedProject(root, package, root.name, endpoint, batch)


def _project_python(project: GeneratedProject, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project.root / "src")}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def validate_specs(project: GeneratedProject) -> list[Path]:
    """Load every spec under aml/ with `azure.ai.ml.load_*` (the project's own aml_specs); return them."""
    completed = _project_python(project, f"{project.package}.aml_specs", "aml")
    if completed.returncode != 0:
        msg = f"{project.root}/aml: the Azure ML loaders refused a spec, nothing was submitted:\n{completed.stderr.strip()}"
        raise SpecInvalidError(msg)
    return [
        project.root / line.split()[1] for line in completed.stdout.splitlines() if line.startswith("ok ")
    ]


def request_file(project: GeneratedProject, target: Path) -> Path:
    """An `input_data` body (the managed online endpoint's format) from the project's payload module."""
    completed = _project_python(
        project, f"{project.package}.payload", "--format", "input_data", "--rows", "3"
    )
    if completed.returncode != 0:
        msg = f"{project.package}.payload failed: {completed.stderr.strip()}"
        raise SpecInvalidError(msg)
    target.write_text(completed.stdout, encoding="utf-8")
    return target


def output_variables(stdout: str) -> dict[str, str]:
    """The `##vso[task.setvariable]` outputs a pipelines/scripts CLI printed: its documented results."""
    return dict(_VARIABLE.findall(stdout))


def _call(main: object, argv: list[str], api: object, keyword: str) -> dict[str, str]:
    """Run a pipelines/scripts `main(argv, <keyword>=api)` and return the output variables it set."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv, **{keyword: api})  # type: ignore[operator]
    if code != exit_codes.SUCCESS:
        msg = f"{getattr(main, '__module__', main)} exited {code}: {buffer.getvalue().strip()}"
        raise TrainingRejectedError(msg)
    return output_variables(buffer.getvalue())


def register_environment(assets: AssetsApi, project: GeneratedProject) -> str:
    return assets.create_or_update_environment(project.root / "aml" / "environment.yml")


def submit_training(jobs: JobsApi, outputs: StackOutputs, project: GeneratedProject) -> str:
    """Submit aml/pipeline.yml with pipelines/scripts/aml_job_submit; return the job name.

    One sweep trial per node of the stack's CPU cluster, as the generated CD sets it (output cpuClusterMaxNodes).
    """
    argv = [*workspace_argv(outputs), "--job-file", str(project.root / "aml" / "pipeline.yml"),
            "--experiment-name", project.slug,
            "--set", f"jobs.train.limits.max_concurrent_trials={outputs.cpu_cluster_max_nodes}"]  # fmt: skip
    return _call(aml_job_submit.main, argv, jobs, "jobs")["amlJobName"]


def wait_for_training(jobs: JobsApi, name: str, *, budget_seconds: float, poll_seconds: float) -> None:
    """Wait with pipelines/scripts/aml_job_wait; a Failed job is the gate saying no (or a broken step)."""
    code = wait_for_job(jobs, name, WaitPolicy(budget_seconds, poll_seconds, final_attempt=True))
    if code != exit_codes.SUCCESS:
        reason = {exit_codes.FAILED: "failed (a rejected gate fails `evaluate`, so `register` never ran)",
                  exit_codes.CANCELED: "was canceled", exit_codes.TIMED_OUT: "is still running after the budget"}  # fmt: skip
        msg = f"training job {name} {reason.get(code, f'ended with exit code {code}')}: the champion is unchanged"
        raise TrainingRejectedError(msg)


class _RegisteredByPipeline:
    """ModelsApi for model_register when the version already exists: the pipeline's `register` step made it
    (only after a passing verdict), so registering again would only add a duplicate version."""

    def __init__(self, models: ModelsApi, version: str) -> None:
        self._models = models
        self._version = version

    def register_model(self, **_: object) -> str:
        return self._version

    def registry_model_tags(self, *, registry: str, name: str, version: str) -> dict[str, str] | None:
        return self._models.registry_model_tags(registry=registry, name=name, version=version)

    def share_model(
        self, *, name: str, version: str, registry: str, registry_name: str, registry_version: str
    ) -> None:
        self._models.share_model(
            name=name,
            version=version,
            registry=registry,
            registry_name=registry_name,
            registry_version=registry_version,
        )


def promote(
    models: ModelsApi, champion: ChampionApi, outputs: StackOutputs, project: GeneratedProject
) -> dict[str, str]:
    """Share the workspace's @champion into the stack's Azure ML registry with pipelines/scripts/model_register
    (skipped when the registry has that version already); return its output variables."""
    found = champion.champion(project.slug)
    if found is None:
        msg = f"{project.slug} has no @champion in workspace {outputs.workspace}: nothing to promote"
        raise TrainingRejectedError(msg)
    version, run_id = found
    args = model_register.build_parser().parse_args(
        [
            *workspace_argv(outputs),
            "--name",
            project.slug,
            "--path",
            f"azureml:{project.slug}:{version}",
            "--tag",
            f"mlflow_run_id={run_id}",
            "--registry",
            outputs.aml_registry,
        ]
    )
    return model_register.register_and_share(_RegisteredByPipeline(models, version), args)


def release(
    online: OnlineEndpointsApi,
    project: GeneratedProject,
    request: Path,
    model_uri: str,
    *,
    traffic_steps: str,
    step_wait_seconds: float,
) -> Result:
    """Blue/green with pipelines/scripts/blue_green: idle colour, smoke test, traffic steps, rollback."""
    return release_blue_green(
        online,
        Release(
            endpoint=project.endpoint,
            deployment_spec=project.root
            / "aml"
            / "online"
            / "blue.yml",  # the script renames it to the idle colour
            request_file=request,
            model=model_uri,
            traffic_steps=parse_traffic_steps(traffic_steps),
            step_wait_seconds=step_wait_seconds,
        ),
    )


def run_batch(
    batch: BatchEndpointsApi,
    outputs: StackOutputs,
    project: GeneratedProject,
    model_uri: str,
    batch_input: str,
) -> str:
    """Deploy the batch deployment and start a scoring job with pipelines/scripts/batch_invoke; return its name."""
    argv = [*workspace_argv(outputs), "--endpoint", project.batch_endpoint, "--deployment", "mlflow",
            "--deployment-spec", str(project.root / "aml" / "batch" / "deployment.yml"), "--model", model_uri,
            "--input", f"scoring={batch_input}", "--input-type", "uri_folder"]  # fmt: skip
    return _call(batch_invoke.main, argv, batch, "api")["amlJobName"]
