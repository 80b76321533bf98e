"""The generated CD as one system with the platform: names only from the stack variables, every job that touches
a stack on its pool, workspace assets created before use, long GitHub waits that sign in again, and ml.yml
naming files and endpoints a generated project really has."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipelines.test_pool_names_are_compile_time import expanded, jobs_off_their_stacks_pool
from tests.templates.generation import REPO, generate, template_answers, text_files

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ANSWERS = {
    "azure": {"ci_provider": "azure-pipelines", "deployment": "both"},
    "github": {"ci_provider": "github-actions", "deployment": "both"},
}
ACCESS_TOKEN_MINUTES = 60
"""The shortest lifetime of an Entra access token (60-90 minutes): the CLI's OIDC sign-in ends with it."""


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: generate(tmp_path_factory.mktemp(name), **answers) for name, answers in ANSWERS.items()}


def _jobs(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())["jobs"]


def test_the_template_asks_nothing_only_a_stack_knows(projects: dict[str, Path]) -> None:
    """The registry's name is derived by the stack that owns it: an answer could only be wrong or stale."""
    assert "aml_registry" not in template_answers()
    for project in projects.values():
        # What deploys or configures: CD, the Azure ML specs, the bundle (the code's doctests use examples).
        deployed = [
            p
            for p in text_files(project)
            if p.relative_to(project).parts[0] in {".azure-pipelines", ".github", "aml", "databricks"}
        ]
        assert deployed
        for path in deployed:
            text = path.read_text(encoding="utf-8")
            assert "mlops-registry" not in text, path
            assert not re.search(r"azureml://registries/[A-Za-z0-9]", text), f"{path}: a hard-coded registry"


def test_every_azure_pipelines_job_that_touches_a_stack_runs_on_its_pool(projects: dict[str, Path]) -> None:
    """Pools named when the run is compiled, from the platform's pools template, read from this repository as the
    repository resource `platform_repository` names (its `resources.repositories` entry and `@platform` reference):
    https://learn.microsoft.com/azure/devops/pipelines/process/templates#use-other-repositories
    https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions
    """
    cd = projects["azure"] / ".azure-pipelines" / "cd.yml"
    (platform,) = yaml.safe_load(cd.read_text())["resources"]["repositories"]
    assert platform == {
        "repository": "platform",
        "type": "git",
        "name": template_answers()["platform_repository"],
        "ref": "refs/heads/main",
    }
    body = expanded(cd, {platform["name"]: REPO})
    assert jobs_off_their_stacks_pool(body) == []
    assert "AML_AGENT_POOL" not in cd.read_text()


def test_each_azure_pipelines_stage_creates_what_it_uses_first(projects: dict[str, Path]) -> None:
    cd = yaml.safe_load((projects["azure"] / ".azure-pipelines" / "cd.yml").read_text())
    stages = {stage["stage"]: stage for stage in cd["stages"]}
    for name in ("Release_staging", "Release_prod"):
        assets, *releases = stages[name]["jobs"]
        assert assets["template"] == "templates/jobs/aml-assets.yml"
        assert assets["parameters"]["onlineEndpointSpec"] == "aml/online/endpoint.yml"
        assert assets["parameters"]["batchEndpointSpec"] == "aml/batch/endpoint.yml"
        for job in releases:
            if "template" in job:
                assert job["parameters"]["dependsOn"] == ["assets"], job["template"]
        for spec in ("onlineEndpointSpec", "batchEndpointSpec"):
            assert (projects["azure"] / assets["parameters"][spec]).is_file()


def test_github_releases_create_the_endpoints_first(projects: dict[str, Path]) -> None:
    release = _jobs(projects["github"] / ".github" / "workflows" / "release.yml")
    run = release["assets"]["steps"][-1]["run"]
    assert "--provision-network" in run
    assert (
        "--online-endpoint aml/online/endpoint.yml" in run
        and "--batch-endpoint aml/batch/endpoint.yml" in run
    )
    assert release["blue_green"]["needs"] == ["assets"] and release["batch"]["needs"] == ["assets"]
    submit = _jobs(projects["github"] / ".github" / "workflows" / "cd.yml")["train_submit"]["steps"]
    assets = next(step for step in submit if step.get("id") == "assets")
    assert "--environment aml/environment.yml" in assets["run"] and "--provision-network" in assets["run"]
    assert '--environment "$ENVIRONMENT_URI"' in submit[-1]["run"]


def _slices(steps: list[dict[str, Any]]) -> list[int]:
    return [i for i, step in enumerate(steps) if str(step.get("id", "")).startswith("poll_")]


def test_long_github_waits_sign_in_again_before_each_slice(projects: dict[str, Path]) -> None:
    """An OIDC sign-in gives the Azure CLI an access token of 60-90 minutes that it cannot renew (the GitHub ID
    token it was given has expired long before): a wait of hours polls in slices shorter than the token's
    lifetime and signs in again before each, as keepAzSessionActive does on Azure Pipelines.
    https://learn.microsoft.com/entra/identity-platform/access-tokens#token-lifetime
    """
    workflows = projects["github"] / ".github" / "workflows"
    cd = yaml.safe_load((workflows / "cd.yml").read_text())
    slice_minutes = int(cd["env"]["WAIT_SLICE_MINUTES"])
    assert slice_minutes < ACCESS_TOKEN_MINUTES
    waits = [job for name, job in cd["jobs"].items() if name.startswith("train_wait_")]
    batch = _jobs(workflows / "release.yml")["batch"]
    for job in [*waits, batch]:
        steps = job["steps"]
        slices = _slices(steps)
        assert len(slices) * slice_minutes <= job["timeout-minutes"] - 10
        assert all('"$WAIT_SLICE_MINUTES"' in steps[i]["run"] for i in slices)
        for previous, current in itertools.pairwise(slices):
            login = steps[current - 1]
            assert login["uses"].startswith("azure/login@"), (
                f"slice {steps[current]['id']} polls without signing in"
            )
            assert (
                login["if"]
                == steps[current]["if"]
                == f"steps.{steps[previous]['id']}.outputs.state == 'Running'"
            )


def test_ml_yml_names_the_files_and_endpoints_of_a_generated_project(tmp_path: Path) -> None:
    """ml.yml is the templates assembled for the generated layout: every file it points at must exist there."""
    project = generate(tmp_path, deployment="both", ci_provider="none")
    text = (REPO / "pipelines" / "azure-pipelines" / "ml.yml").read_text(encoding="utf-8")
    paths = set(re.findall(r"\b(aml/[\w./-]+\.(?:yml|json))\b", text))
    assert {"aml/pipeline.yml", "aml/online/blue.yml", "aml/batch/deployment.yml"} <= paths
    assert [path for path in sorted(paths) if not (project / path).is_file()] == []
    ml = yaml.safe_load(text)
    defaults = {p["name"]: p.get("default") for p in ml["parameters"]}
    online = yaml.safe_load((project / "aml" / "online" / "endpoint.yml").read_text())["name"]
    batch = yaml.safe_load((project / "aml" / "batch" / "endpoint.yml").read_text())["name"]
    assert (defaults["onlineEndpoint"], defaults["batchEndpoint"]) == (online, batch)
    assert defaults["modelName"] == project.name
    assert (project / defaults["trainJobFile"]).is_file()
    assert (project / "src" / defaults["packageName"] / "promote.py").is_file(), "ml.yml shares with it"
