"""The generated CD and the platform's lifecycle handler and alerts agree: a monitor breach names the project's model,
the handler's retraining request is one the CD accepts, the event reaches the training job and the model's tags, and
releases send endpoint logs where the endpoint alerts look. Everything runs: the handler's own decision code on its
documented breach payload, the CD's request check in bash, the submit script and azure-ai-ml's loader."""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.scripts import aml_job_submit, cli, exit_codes
from pipelines.scripts.aml_client import load_job_spec
from pipelines.validation.documents import load
from pipelines.validation.expressions import WHOLE, evaluate, substitute
from pipelines.validation.templates import expand
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeJobs
from tests.templates.generation import REPO, VENV_BIN, generate

sys.path.insert(0, str(REPO / "functions" / "lifecycle_events"))

from lifecycle_handler.decisions import MODEL_NAME_TAGS, Action, decide
from lifecycle_handler.events import parse_event
from lifecycle_handler.outbound import DevOpsTarget, retrain_request

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

BREACH = REPO / "tests" / "functions" / "fixtures" / "monitor_breach.json"
CASES = {
    "azure-both": {"ci_provider": "azure-pipelines", "deployment": "both"},
    "azure-batch": {"ci_provider": "azure-pipelines", "deployment": "batch"},
    "github-online": {"ci_provider": "github-actions", "deployment": "online", "task": "classification"},
}
_GENERATED: dict[str, Path] = {}


def _project(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if name not in _GENERATED:
        _GENERATED[name] = generate(tmp_path_factory.mktemp(name), **CASES[name])
    return _GENERATED[name]


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project("azure-both", tmp_path_factory)


@pytest.fixture(scope="module")
def azure_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project("azure-batch", tmp_path_factory)


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project("github-online", tmp_path_factory)


def _cd(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".azure-pipelines" / "cd.yml").read_text(encoding="utf-8"))


def _model_name(project: Path) -> str:
    """The registered model name, from the generated package's settings (what `register` registers)."""
    package = next(path for path in (project / "src").iterdir() if (path / "settings.py").is_file())
    module = ast.parse((package / "settings.py").read_text(encoding="utf-8"))
    return next(
        ast.literal_eval(node.value)
        for node in module.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MODEL_NAME" and node.value
    )


def _monitor_tags(project: Path) -> dict[str, str]:
    """The schedule's tags as CD applies it (the project's own monitoring.load_monitor, the SDK's loader)."""
    probe = (
        "import json, pathlib, sys; from importlib import import_module;"
        "m = import_module(sys.argv[1] + '.monitoring');"
        "print(json.dumps(m.load_monitor(pathlib.Path('aml/monitoring.yml'), 'ep', 'blue').tags))"
    )
    package = next(path.name for path in (project / "src").iterdir() if (path / "monitoring.py").is_file())
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    result = subprocess.run([VENV_BIN / "python", "-c", probe, package], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _breach_request(model_tag: str) -> tuple[str, dict[str, Any]]:
    """The handler's decision and retraining request for the documented breach, run tags as the monitor sets them."""
    event = copy.deepcopy(json.loads(BREACH.read_text(encoding="utf-8"))[0])
    event["data"]["runTags"] = {**event["data"]["runTags"], "model_name": model_tag}
    decision = decide(parse_event(event))
    assert Action.RETRAIN in decision.actions
    request = retrain_request(
        DevOpsTarget("contoso", "ml", 17), model_name=decision.model_name, event_id=event["id"], token="t"
    )
    return event["id"], request.body["templateParameters"]


def _request_check(project: Path, parameters: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """cd.yml's first job (the Train stage's `request`), its bash run with the run's template parameters."""
    train = next(stage for stage in _cd(project)["stages"] if stage["stage"] == "Train")
    (step,) = [step for step in train["jobs"][0]["steps"] if "bash" in step]
    scope = {"parameters": parameters}
    env = {name: str(substitute(str(value), scope)) for name, value in step["env"].items()}
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", step["bash"]], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def _defaults(project: Path) -> dict[str, str]:
    return {spec["name"]: spec.get("default") for spec in _cd(project)["parameters"]}


def _evaluated(node: Any, scope: dict[str, Any]) -> Any:
    """A mapping with `${{ if }}` keys and `${{ }}` values, evaluated as Azure Pipelines compiles it."""
    if not isinstance(node, dict):
        return substitute(node, scope) if isinstance(node, str) else node
    result: dict[str, Any] = {}
    for key, value in node.items():
        match = WHOLE.match(key.strip())
        if match and match.group(1).strip().startswith("if "):
            if evaluate(match.group(1).strip()[3:], scope):
                result.update(_evaluated(value, scope))
        else:
            result[key] = _evaluated(value, scope)
    return result


def _train_overrides(project: Path, event_id: str) -> dict[str, Any]:
    train = next(stage for stage in _cd(project)["stages"] if stage["stage"] == "Train")
    call = next(job for job in train["jobs"] if job.get("template") == "templates/jobs/aml-job.yml")
    scope = {"parameters": {**_defaults(project), "triggeringEventId": event_id}}
    return _evaluated(call["parameters"]["overrides"], scope)


def test_the_monitor_names_the_model_by_the_tag_the_handler_reads(azure: Path) -> None:
    tags = _monitor_tags(azure)
    assert tags == {"model_name": _model_name(azure)}
    assert next(iter(tags)) in MODEL_NAME_TAGS


def test_cd_accepts_the_handlers_retraining_request(azure: Path) -> None:
    """Azure DevOps refuses templateParameters a pipeline does not declare; the request check then accepts them."""
    event_id, parameters = _breach_request(_monitor_tags(azure)["model_name"])
    defaults = _defaults(azure)

    assert set(parameters) <= set(defaults)
    assert parameters == {"triggeringEventId": event_id, "modelName": _model_name(azure)}
    # A push or a manual run: the defaults are this project's model and no event.
    assert (defaults["modelName"], defaults["triggeringEventId"]) == (_model_name(azure), "")
    for run in ({**defaults, **parameters}, defaults):
        result = _request_check(azure, run)
        assert result.returncode == 0, result.stdout + result.stderr
    assert f"for Event Grid event {event_id}" in _request_check(azure, {**defaults, **parameters}).stdout


@pytest.mark.parametrize(
    ("model", "event", "message"),
    [
        ("credit-default", "", "is not the model this project registers"),
        (None, "x; rm -rf ~", "is not an event ID"),
        (None, "$(curl evil)", "is not an event ID"),
        (None, "a" * 129, "is not an event ID"),
    ],
)
def test_a_request_for_another_model_or_with_a_malformed_event_fails_before_training(
    azure: Path, model: str | None, event: str, message: str
) -> None:
    defaults = _defaults(azure)
    result = _request_check(
        azure, {**defaults, "modelName": model or defaults["modelName"], "triggeringEventId": event}
    )
    assert result.returncode == 1
    assert "##vso[task.logissue type=error]" in result.stdout and message in result.stdout
    train = next(stage for stage in expand(load(azure / ".azure-pipelines/cd.yml"), superset=False).body["stages"]
                 if stage["stage"] == "Train")  # fmt: skip
    jobs = {job.get("job"): job for job in train["jobs"]}
    # The assets job (network, environment) waits for the check too, and submission for both.
    assert jobs["assets"]["dependsOn"] == ["request"], "nothing touches Azure unless the request check passed"
    assert jobs["train_submit"]["dependsOn"] == ["request", "assets"], "nothing is submitted unless it passed"


def test_the_triggering_event_reaches_the_azure_ml_job_and_the_register_step(azure: Path) -> None:
    event_id, _ = _breach_request(_model_name(azure))
    overrides = _train_overrides(azure, event_id)
    # Every run sizes the sweep to the stack's cluster (tests/twin/test_generated_cd_in_twin.py checks the value).
    sizing = {"jobs.train.limits.max_concurrent_trials": "$(AML_CPU_CLUSTER_MAX_NODES)"}
    assert overrides == {
        "inputs.triggering_event_id": event_id,
        "tags.triggering_event_id": event_id,
        **sizing,
    }
    assert _train_overrides(azure, "") == sizing, "a push or manual run changes nothing else in the job"

    # aml-job.yml hands `${{ convertToJson(parameters.overrides) }}` to aml_job_submit --overrides; Azure Pipelines
    # expands the variable group's $(AML_CPU_CLUSTER_MAX_NODES) in it before the step runs.
    expanded = {key: value.replace("$(AML_CPU_CLUSTER_MAX_NODES)", "2") for key, value in overrides.items()}
    jobs = FakeJobs(["Completed"])
    argv = [
        *WORKSPACE_ARGS,
        "--job-file",
        str(azure / "aml/pipeline.yml"),
        "--overrides",
        json.dumps(expanded),
    ]
    assert cli.run(lambda a: aml_job_submit.main(a, jobs=jobs), argv) == exit_codes.SUCCESS
    assert jobs.overrides == [expanded]

    job = load_job_spec(azure / "aml" / "pipeline.yml", expanded)
    assert job.inputs["triggering_event_id"]._data == event_id
    assert job.tags["triggering_event_id"] == event_id
    assert "--triggering-event-id ${{inputs.triggering_event_id}}" in job.jobs["register"].command
    assert load_job_spec(azure / "aml" / "pipeline.yml", {}).inputs["triggering_event_id"]._data == "none"


def test_the_promotion_step_uses_the_requested_model(azure: Path) -> None:
    promote = next(stage for stage in expand(load(azure / ".azure-pipelines/cd.yml"), superset=False).body["stages"]
                   if stage["stage"] == "Promote")["jobs"][0]  # fmt: skip
    publish = next(
        step for step in promote["strategy"]["runOnce"]["deploy"]["steps"] if step.get("name") == "publish"
    )
    assert publish["env"]["MODEL_NAME"] == _model_name(azure)
    assert '--model-name "${MODEL_NAME}"' in publish["inputs"]["inlineScript"]


def _release_jobs(project: Path, stage: str) -> list[dict[str, Any]]:
    body = expand(load(project / ".azure-pipelines/cd.yml"), superset=False).body
    return next(s for s in body["stages"] if s["stage"] == stage)["jobs"]


@pytest.mark.parametrize("stage", ["Release_staging", "Release_prod"])
def test_each_online_release_sends_endpoint_logs_where_the_alerts_look(azure: Path, stage: str) -> None:
    jobs = _release_jobs(azure, stage)
    blue_green = next(job for job in jobs if job.get("deployment") == "blue_green")
    steps = blue_green["strategy"]["runOnce"]["deploy"]["steps"]
    names = [step.get("name") for step in steps if step.get("task") == "AzureCLI@2"]
    assert names == ["release", "diagnostics"], "diagnostic settings follow a successful release"
    diagnostics = steps[-1]
    assert diagnostics["env"]["SCRIPT_MODULE"] == "endpoint_diagnostics"
    assert diagnostics["env"]["LOG_ANALYTICS_WORKSPACE_ID"] == "$(AML_LOG_ANALYTICS_WORKSPACE_ID)"
    assert (
        diagnostics["env"]["ENDPOINT"]
        == blue_green["strategy"]["runOnce"]["deploy"]["steps"][-2]["env"]["ENDPOINT"]
    )
    assert (
        '--log-analytics-workspace-id "${LOG_ANALYTICS_WORKSPACE_ID}"'
        in diagnostics["inputs"]["inlineScript"]
    )
    assert diagnostics.get("continueOnError", False) is False
    # The stack exports the workspace ID, and the platform's variable groups carry it under this name.
    assert 'pulumi.export("logAnalyticsWorkspaceId"' in (REPO / "infra" / "program.py").read_text(
        encoding="utf-8"
    )
    assert "AML_LOG_ANALYTICS_WORKSPACE_ID" in (REPO / "pipelines" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("stage", ["Release_staging", "Release_prod"])
def test_the_monitor_reads_the_training_data_promoted_with_the_deployed_model(
    azure: Path, stage: str
) -> None:
    monitor = next(job for job in _release_jobs(azure, stage) if job.get("job") == "monitor")
    step = next(step for step in monitor["steps"] if step.get("task") == "AzureCLI@2")
    assert '--model "${MODEL_URI}"' in step["inputs"]["inlineScript"]
    assert step["env"]["MODEL_URI"] == "$(registryModelUri)"


def test_a_batch_only_project_has_no_endpoint_diagnostics(azure_batch: Path) -> None:
    text = (azure_batch / ".azure-pipelines/cd.yml").read_text(encoding="utf-8")
    assert "AML_LOG_ANALYTICS_WORKSPACE_ID" not in text
    assert all(job.get("deployment") != "blue_green" for job in _release_jobs(azure_batch, "Release_prod"))


def test_github_releases_send_endpoint_logs_and_point_the_monitor_at_the_promoted_data(github: Path) -> None:
    release = yaml.safe_load((github / ".github/workflows/release.yml").read_text(encoding="utf-8"))
    steps = release["jobs"]["blue_green"]["steps"]
    diagnostics = steps[-1]
    assert "pipelines.scripts.endpoint_diagnostics" in diagnostics["run"]
    assert diagnostics["env"]["LOG_ANALYTICS_WORKSPACE_ID"] == "${{ vars.AML_LOG_ANALYTICS_WORKSPACE_ID }}"
    assert [step.get("id") for step in steps].index("release") < len(steps) - 1
    monitor = release["jobs"]["monitor"]["steps"][-1]
    assert (
        '--model "$MODEL_URI"' in monitor["run"] and monitor["env"]["MODEL_URI"] == "${{ inputs.model-uri }}"
    )


def test_github_manual_runs_record_their_triggering_event(github: Path) -> None:
    cd = yaml.safe_load((github / ".github/workflows/cd.yml").read_text(encoding="utf-8"))
    assert "triggering_event_id" in cd[True]["workflow_dispatch"]["inputs"]  # PyYAML reads `on:` as True
    submit = next(step for step in cd["jobs"]["train_submit"]["steps"] if step.get("id") == "submit")
    for event, expected in (("", 0), ("5d0f3c2a-7e41-4b9c-8a6d-2f1e0b9c8d7e", 0), ("x; id", 1)):
        # The step's event check, up to the submission (which needs Azure), run for real.
        check = submit["run"].split(".venv/bin/python")[0]
        result = subprocess.run(["bash", "-c", check], env={**os.environ, "EVENT_ID": event},
                                capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert result.returncode == expected, (event, result.stdout)
    assert '--set "inputs.triggering_event_id=$EVENT_ID"' in submit["run"]
