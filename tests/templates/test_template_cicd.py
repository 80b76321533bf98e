"""The generated project's CI/CD: the right files per CI provider, valid pipelines, loud failures, prod deploying
the registry copy without training, and vendored templates/scripts identical to pipelines/ and importable."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines import sync_template
from pipelines.validation.documents import load
from pipelines.validation.templates import expand
from tests.templates.generation import REPO, VENV_BIN, generate, run_tool, template_answers

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CASES: dict[str, dict[str, str]] = {
    "azure-pipelines-both": {"ci_provider": "azure-pipelines", "deployment": "both"},
    "azure-pipelines-batch-py312": {
        "ci_provider": "azure-pipelines",
        "deployment": "batch",
        "python_version": "3.12",
    },
    "github-actions-both": {"ci_provider": "github-actions", "deployment": "both", "task": "classification"},
    "github-actions-online": {"ci_provider": "github-actions", "deployment": "online"},
    "none": {"ci_provider": "none", "deployment": "both"},
    # The PyTorch variant's CD differs where it trains: the stack's GPU cluster, one process per GPU.
    "azure-pipelines-pytorch": {"ci_provider": "azure-pipelines", "deployment": "online", "task": "classification",
                                "framework": "pytorch", "online_compute": "gpu"},
    "github-actions-pytorch": {"ci_provider": "github-actions", "deployment": "both", "task": "classification",
                               "framework": "pytorch"},
}  # fmt: skip
CD_FILES: dict[str, tuple[str, ...]] = {
    "azure-pipelines": (".azure-pipelines/pr.yml", ".azure-pipelines/cd.yml"),
    "github-actions": (
        ".github/workflows/pr.yml",
        ".github/workflows/cd.yml",
        ".github/workflows/release.yml",
        ".github/actions/azure-python/action.yml",
    ),
    "none": (),
}
SCHEMA = ("--regex-variant", "nonunicode")


_GENERATED: dict[str, Path] = {}


def _cases_with(*providers: str) -> list[str]:
    return [name for name, answers in CASES.items() if answers["ci_provider"] in providers]


def _case_fixture(names: list[str]) -> Any:
    """A module fixture over `names`: tests for one provider run only on its cases instead of skipping
    the others; each project is generated once per module, whichever fixture asks first."""

    @pytest.fixture(scope="module", params=names)
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> tuple[dict[str, str], Path]:
        answers = CASES[request.param]
        if request.param not in _GENERATED:
            _GENERATED[request.param] = generate(tmp_path_factory.mktemp(request.param), **answers)
        return answers, _GENERATED[request.param]

    return fixture


case = _case_fixture(list(CASES))
ci_case = _case_fixture(_cases_with("azure-pipelines", "github-actions"))
azure_case = _case_fixture(_cases_with("azure-pipelines"))
github_case = _case_fixture(_cases_with("github-actions"))


def _ci_files(project: Path) -> list[Path]:
    return sorted(
        path for folder in (".azure-pipelines", ".github") for path in (project / folder).rglob("*.yml")
    )


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    return next(stage for stage in pipeline["stages"] if stage.get("stage") == name)


def test_each_provider_gets_its_cd_files_and_nothing_else(case: tuple[dict[str, str], Path]) -> None:
    answers, project = case
    provider = answers["ci_provider"]
    for relative in CD_FILES[provider]:
        assert (project / relative).is_file(), relative
    present = {path.relative_to(project).as_posix() for path in _ci_files(project)}
    copies = {f".azure-pipelines/templates/{name}" for name in sync_template.TEMPLATE_FILES}
    expected = set(CD_FILES[provider]) | (copies if provider == "azure-pipelines" else set())
    assert present == expected
    # The vendored scripts serve both providers and go with the last of them.
    assert (project / "pipelines" / "scripts").is_dir() == (provider != "none")


def test_vendored_templates_and_scripts_are_byte_identical_to_pipelines(
    ci_case: tuple[dict[str, str], Path],
) -> None:
    answers, project = ci_case
    pairs = sync_template.copies(REPO, project)
    if answers["ci_provider"] == "github-actions":
        pairs = [pair for pair in pairs if ".azure-pipelines" not in pair.target.parts]
    drifted = [str(pair.target.relative_to(project)) for pair in pairs if pair.drifted()]
    assert drifted == []


def test_the_template_copies_match_pipelines() -> None:
    assert sync_template.problems() == [], "run `make sync-template`"


def test_drift_is_reported_with_the_file_named_and_sync_repairs_it(tmp_path: Path) -> None:
    source, target = tmp_path / "pipelines" / "x.yml", tmp_path / "project" / "templates" / "x.yml"
    source.parent.mkdir()
    source.write_text("steps: []\n")
    target.parent.mkdir(parents=True)
    target.write_text("steps: [] # edited in the project\n")
    (target.parent / "old.yml").write_text("jobs: []\n")
    pairs = [sync_template.Copy(source, target)]

    assert sync_template.problems(pairs, [target.parent]) == [
        f"{target} differs from {source}",
        f"{target.parent / 'old.yml'} is not a copy of anything in pipelines/",
    ]
    sync_template.sync(pairs, [target.parent])
    assert target.read_bytes() == source.read_bytes()
    assert sync_template.problems(pairs, [target.parent]) == []


def test_the_vendored_scripts_run_from_the_project_alone(ci_case: tuple[dict[str, str], Path]) -> None:
    """From a copy of the project outside this repository: `pipelines` must resolve to the project's own copy."""
    _answers, project = ci_case
    env = {"PATH": str(VENV_BIN), "HOME": os.environ.get("HOME", "/tmp")}  # no PYTHONPATH to this repository
    result = run_tool(
        VENV_BIN / "python", "-m", "pipelines.scripts.aml_job_wait", "--help", cwd=project, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "--attempt-budget-minutes" in result.stdout
    modules = sorted(
        path.stem for path in (project / "pipelines" / "scripts").glob("*.py") if path.stem != "__init__"
    )
    probe = "import importlib, pipelines\n" + "".join(
        f"importlib.import_module('pipelines.scripts.{module}')\n" for module in modules
    ) + "print(pipelines.__file__)\n"  # fmt: skip
    result = run_tool(VENV_BIN / "python", "-c", probe, cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == (project / "pipelines" / "__init__.py").resolve()


def test_azure_pipelines_pass_the_platform_validation(azure_case: tuple[dict[str, str], Path]) -> None:
    """Schema (with its documented false positives), template binding (the pools template from this repository,
    the platform, as `platform_repository` names it), dependsOn, anchors and house rules."""
    _answers, project = azure_case
    platform = f"{template_answers()['platform_repository']}={REPO}"
    result = run_tool(
        VENV_BIN / "python", "-m", "pipelines.validation", "--repository", platform, project / ".azure-pipelines",
        cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(sync_template.TEMPLATE_FILES) + 2} files checked, 0 findings" in result.stderr


def test_the_validation_does_catch_a_broken_cd_pipeline(tmp_path: Path, default_project: Path) -> None:
    """Negative control: a dependsOn typo and a continueOnError in cd.yml are both reported."""
    copy = tmp_path / ".azure-pipelines"
    shutil.copytree(default_project / ".azure-pipelines", copy)
    cd = copy / "cd.yml"
    text = cd.read_text().replace("dependsOn: Train\n", "dependsOn: Trian\n", 1)
    cd.write_text(
        text.replace("name: publish\n", "name: publish\n                  continueOnError: true\n", 1)
    )
    result = run_tool(VENV_BIN / "python", "-m", "pipelines.validation", copy, cwd=REPO)
    assert result.returncode == 1
    assert "Trian" in result.stdout and "continueOnError: true" in result.stdout


def test_github_workflows_and_action_match_their_schemas(github_case: tuple[dict[str, str], Path]) -> None:
    _answers, project = github_case
    for workflow in sorted((project / ".github" / "workflows").glob("*.yml")):
        result = run_tool(
            VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *SCHEMA, workflow
        )
        assert result.returncode == 0, result.stdout + result.stderr
    action = project / ".github" / "actions" / "azure-python" / "action.yml"
    result = run_tool(
        VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-actions", *SCHEMA, action
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_step_may_continue_on_error(case: tuple[dict[str, str], Path]) -> None:
    for path in _ci_files(case[1]):
        for mapping in _walk(yaml.safe_load(path.read_text())):
            for key in ("continueOnError", "continue-on-error"):
                assert str(mapping.get(key, "false")).lower() == "false", f"{path}: {key} in {mapping}"


def test_github_actions_are_pinned_and_azure_login_is_oidc(github_case: tuple[dict[str, str], Path]) -> None:
    _answers, project = github_case
    uses = [step["uses"] for path in _ci_files(project) for step in _walk(yaml.safe_load(path.read_text()))
            if isinstance(step.get("uses"), str)]  # fmt: skip
    external = [use for use in uses if not use.startswith("./")]
    assert external and all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", use) for use in external), external
    action = yaml.safe_load((project / ".github/actions/azure-python/action.yml").read_text())
    login = next(step for step in action["runs"]["steps"] if step.get("uses", "").startswith("azure/login@"))
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, "OIDC takes no client secret"
    cd = yaml.safe_load((project / ".github/workflows/cd.yml").read_text())
    assert cd["permissions"]["id-token"] == "write"


def test_azure_pipelines_train_with_resumable_waits_and_release_the_registry_copy(
    azure_case: tuple[dict[str, str], Path],
) -> None:
    answers, project = azure_case
    cd = yaml.safe_load((project / ".azure-pipelines/cd.yml").read_text())
    request, assets, train = _stage(cd, "Train")["jobs"]
    assert request["job"] == "request", "the run's modelName and triggeringEventId are checked first"
    assert assets["template"] == "templates/jobs/aml-assets.yml"
    assert assets["parameters"]["environmentSpec"] == "aml/environment.yml"
    assert train["template"] == "templates/jobs/aml-job.yml"
    assert train["parameters"]["dependsOn"] == ["request", "assets"]
    assert train["parameters"]["environment"] == "$(environmentUri)"
    assert train["parameters"]["variables"] == {
        "environmentUri": "$[ dependencies.assets.outputs['assets.environmentUri'] ]"
    }
    assert train["parameters"]["jobFile"] == "aml/pipeline.yml"
    overrides = train["parameters"]["overrides"]
    if answers.get("framework") == "pytorch":
        # DDP on the stack's GPU cluster, one process per GPU (outputs gpuClusterName, gpuClusterGpusPerNode).
        assert overrides["jobs.train.compute"] == "azureml:$(AML_GPU_CLUSTER)"
        assert overrides["jobs.train.distribution.process_count_per_instance"] == "$(AML_GPUS_PER_NODE)"
        assert "jobs.train.limits.max_concurrent_trials" not in overrides
    else:
        # One sweep trial per node of the stack's CPU cluster (stack output cpuClusterMaxNodes).
        assert overrides["jobs.train.limits.max_concurrent_trials"] == "$(AML_CPU_CLUSTER_MAX_NODES)"
    promote = _stage(cd, "Promote")["jobs"][0]
    assert promote["environment"] == "mlops-promotion", "promotion needs an environment to carry its approval"
    script = next(step for step in _walk(promote) if step.get("name") == "publish")["inputs"]["inlineScript"]
    assert "--approved-by" in script and "--from-job" in script
    for stage_name, environment in (("Release_staging", "mlops-staging"), ("Release_prod", "mlops-prod")):
        stage = _stage(cd, stage_name)
        assert "Promote" in stage["dependsOn"]
        promoted = "$[ stageDependencies.Promote.promote.outputs['promote.publish.registryModelUri'] ]"
        templates = [job.get("template") for job in stage["jobs"]]
        assert "templates/jobs/aml-job.yml" not in templates and "aml/pipeline.yml" not in str(stage), (
            f"{stage_name} trains"
        )
        releases = [job for job in stage["jobs"] if job.get("template", "").endswith(("blue-green-deploy.yml", "batch-deploy.yml"))]  # fmt: skip
        assert len(releases) == (2 if answers["deployment"] == "both" else 1)
        for job in releases:
            # Job variables: Azure Pipelines resolves `stageDependencies` there (cross-stage outputs).
            variables = job["parameters"]["variables"]
            assert variables["registryModelUri"] == promoted
            assert job["parameters"]["model"] == "$(registryModelUri)"
            if job["template"].endswith("batch-deploy.yml"):
                # The scoring script runs on the environment this stage's assets job registered, on every node
                # the stack's CPU cluster may have.
                assert variables == {
                    "registryModelUri": promoted,
                    "environmentUri": "$[ dependencies.assets.outputs['assets.environmentUri'] ]",
                }
                assert job["parameters"]["overrides"] == {
                    "resources.instance_count": "$(AML_CPU_CLUSTER_MAX_NODES)",
                    "environment": "$(environmentUri)",
                }
                (assets,) = [j for j in stage["jobs"] if j.get("template") == "templates/jobs/aml-assets.yml"]
                assert assets["parameters"]["environmentSpec"] == "aml/environment.yml"
            else:
                assert variables == {"registryModelUri": promoted}
            if job["template"].endswith("blue-green-deploy.yml"):
                assert job["parameters"]["environment"] == environment
                assert job["parameters"]["requestFile"] == "aml/online/sample-request.json"
                assert (project / job["parameters"]["requestFile"]).is_file()


def test_github_actions_train_with_resumable_waits_and_release_the_registry_copy(
    github_case: tuple[dict[str, str], Path],
) -> None:
    answers, project = github_case
    jobs = yaml.safe_load((project / ".github/workflows/cd.yml").read_text())["jobs"]
    waits = [name for name in jobs if name.startswith("train_wait_")]
    assert len(waits) >= 2 and all(jobs[name]["timeout-minutes"] <= 360 for name in waits)
    assert "!failure()" in jobs["train"]["if"], (
        "the verdict must run after skipped attempts and fail on failures"
    )
    (submit,) = [step for job in jobs.values() for step in job.get("steps", []) if step.get("id") == "submit"]
    if answers.get("framework") == "pytorch":
        assert submit["env"]["GPU_CLUSTER"] == "${{ vars.AML_GPU_CLUSTER }}"
        assert submit["env"]["GPUS_PER_NODE"] == "${{ vars.AML_GPUS_PER_NODE }}"
        assert "max_concurrent_trials" not in submit["run"]
    else:
        assert submit["env"]["MAX_CONCURRENT_TRIALS"] == "${{ vars.AML_CPU_CLUSTER_MAX_NODES }}"
        assert '--set "jobs.train.limits.max_concurrent_trials=$MAX_CONCURRENT_TRIALS"' in submit["run"]
    assert jobs["promote"]["environment"] == "promotion"
    assert '--approved-by "$APPROVED_BY"' in jobs["promote"]["steps"][-1]["run"]
    assert jobs["promote"]["steps"][-1]["env"]["APPROVED_BY"] == "${{ github.actor }}"
    for name, environment in (("release_staging", "staging"), ("release_prod", "prod")):
        assert jobs[name]["uses"] == "./.github/workflows/release.yml"
        assert jobs[name]["with"] == {"environment": environment,
                                      "model-uri": "${{ needs.promote.outputs.registry-model-uri }}"}  # fmt: skip
    assert "promote" in jobs["release_prod"]["needs"] and "release_staging" in jobs["release_prod"]["needs"]
    release = (project / ".github/workflows/release.yml").read_text()
    assert "aml/pipeline.yml" not in release and "aml_job_submit" not in release, "a release must never train"
    # The registry model: deployed by blue/green and batch, and the monitor's reference data is promoted with it.
    online, batch = answers["deployment"] in ("online", "both"), answers["deployment"] in ("batch", "both")
    assert release.count('--model "$MODEL_URI"') == 2 * online + batch


STACK_RUNNER = "${{ fromJSON(vars.AML_RUNS_ON) }}"
REGISTRY_RUNNER = "${{ fromJSON(vars.AML_REGISTRY_RUNS_ON) }}"


def test_every_github_job_that_touches_a_stack_runs_on_the_stacks_runner(
    github_case: tuple[dict[str, str], Path],
) -> None:
    """A job with a stack's environment reads its runner from that environment (`runs-on` takes a label or a
    `group:` key, and expressions may use `vars`:
    https://docs.github.com/en/actions/using-jobs/choosing-the-runner-for-a-job): inside the stack's VNet when it
    has GitHub runners there. The promote job shares into the registry: its owner's runner."""
    _answers, project = github_case
    seen = []
    for workflow in ("cd.yml", "release.yml"):
        jobs = yaml.safe_load((project / ".github" / "workflows" / workflow).read_text())["jobs"]
        for name, job in jobs.items():
            if "uses" in job:  # a reusable workflow's jobs are checked in their own file
                continue
            assert "environment" in job, f"{workflow}/{name} touches no stack? (every CD job does)"
            wanted = REGISTRY_RUNNER if name == "promote" else STACK_RUNNER
            assert job["runs-on"] == wanted, f"{workflow}/{name}"
            seen.append(name)
    assert {"train_submit", "train", "promote", "assets"} <= set(seen)
    pr = yaml.safe_load((project / ".github" / "workflows" / "pr.yml").read_text())["jobs"]
    assert all("environment" not in job and job["runs-on"] == "ubuntu-24.04" for job in pr.values())


def test_the_project_scripts_the_pipelines_call_answer_help(ci_case: tuple[dict[str, str], Path]) -> None:
    answers, project = ci_case
    package = next(path.name for path in (project / "src").iterdir() if (path / "__init__.py").is_file())
    env = {"PATH": str(VENV_BIN), "PYTHONPATH": str(project / "src"), "HOME": os.environ.get("HOME", "/tmp")}
    for module in ("promote", "monitoring", "governance"):
        result = run_tool(VENV_BIN / "python", "-m", f"{package}.{module}", "--help", cwd=project, env=env)
        assert result.returncode == 0, result.stderr
    text = "\n".join(path.read_text() for path in _ci_files(project))
    assert f"-m {package}.promote" in text
    assert (f"-m {package}.monitoring" in text) == (answers["deployment"] != "batch")


def test_every_azure_pipelines_job_runs_the_projects_python(azure_case: tuple[dict[str, str], Path]) -> None:
    """The job templates default to 3.11: the CD must hand its own Python to every job it calls."""
    answers, project = azure_case
    expanded = expand(load(project / ".azure-pipelines" / "cd.yml"), superset=True).body
    versions = [
        step["inputs"]["versionSpec"] for step in _walk(expanded) if step.get("task") == "UsePythonVersion@0"
    ]
    # Training (submit and every wait attempt), the request check, promotion and each release.
    assert len(versions) >= 8
    assert set(versions) == {answers.get("python_version", "3.11")}
