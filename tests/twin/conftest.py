"""Fixtures for the twin tests: each stack's twin built once per session from its offline plan, and generated
projects (one per answer combination) to run their CD from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import infra.aml_registry
from infra.plan.engine import run_program
from infra.plan.stack_files import load_stack_config
from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401 (a hook, applied to this folder)
from tests.support.azure_twin.from_plan import REPO, STACKS, cloud_of, plan_of, stack_twin
from tests.support.azure_twin.model import AzureTwin, StackTwin
from tests.templates.generation import generate


@pytest.fixture(scope="session")
def stack_twins() -> dict[str, StackTwin]:
    """dev, staging and prod as their plans declare them (not yet deployed)."""
    return {stack: stack_twin(plan_of(stack)) for stack in STACKS}


@pytest.fixture
def cloud(stack_twins: dict[str, StackTwin]) -> AzureTwin:
    """Every stack deployed, nothing created by a pipeline yet."""
    return cloud_of(stack_twins, deployed=True)


GITHUB_PROBE = """\
name: probe
on: workflow_dispatch
jobs:
  probe:
    runs-on: ${{ fromJSON(vars.AML_RUNS_ON) }}
    environment: ENVIRONMENT
    steps:
      - run: echo "$CALLER_VARIABLE"
  share:
    runs-on: ${{ fromJSON(vars.AML_REGISTRY_RUNS_ON) }}
    environment: promotion
    steps:
      - run: "true"
"""
"""A GitHub workflow whose `probe` job (environment ENVIRONMENT) echoes CALLER_VARIABLE, the twin's record of where
it runs, and whose `share` job runs where the promotion environment's registry jobs run."""

RUNNER_GROUPS = {"staging": "mlops-staging", "prod": "mlops-prod"}
"""The runner groups of the variant stacks that GitHub workflows can reach (tests/twin/test_github_runners_in_twin.py)."""


@pytest.fixture(scope="session")
def runner_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackTwin]:
    """dev, and staging and prod in northeurope with GitHub runners, each from its (variant) stack file."""
    root = tmp_path_factory.mktemp("stacks-with-github-runners")
    for name in ("Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in STACKS)):
        shutil.copy(REPO / name, root / name)
    container_apps_keys = ("githubRunners", "githubRunnerUrl", "githubAppId", "githubAppInstallationId")
    for stack, group in RUNNER_GROUPS.items():
        path = root / f"Pulumi.{stack}.yaml"
        # The committed file's container-apps runners give way to GitHub's private networking (one key, one value).
        kept = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not any(line.strip().startswith(f"azure-mlops:{key}:") for key in container_apps_keys)
        ]
        path.write_text(
            "\n".join(kept) + "\n  azure-mlops:location: northeurope\n"
            "  azure-mlops:githubRunners: private-networking\n"
            '  azure-mlops:githubRunnerBusinessId: "123456789"\n'
            f"  azure-mlops:githubRunnerGroup: {group}\n",
            encoding="utf-8",
        )
    # Consumers derive the registry from the owner's stack file: these files, only while the plans are made.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.aml_registry, "REPO_ROOT", root)
        return {stack: stack_twin(run_program(stack, load_stack_config(root, stack))) for stack in STACKS}


@pytest.fixture
def runner_cloud(runner_stacks: dict[str, StackTwin]) -> AzureTwin:
    """Every stack of the variant deployed, nothing created by a pipeline yet."""
    return cloud_of(runner_stacks, deployed=True)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory):
    """`generated(deployment, ci_provider)`: a project generated with those answers (once per session)."""
    made: dict[tuple[str, str], Path] = {}

    def project(deployment: str, ci_provider: str) -> Path:
        if (deployment, ci_provider) not in made:
            made[(deployment, ci_provider)] = generate(
                tmp_path_factory.mktemp(f"{deployment}-{ci_provider}"),
                deployment=deployment,
                ci_provider=ci_provider,
            )
        return made[(deployment, ci_provider)]

    return project


@pytest.fixture
def project_copy(tmp_path: Path):
    """A scratch copy of a generated project, so a run's files (e.g. `.venv/bin/python`) stay out of the cache."""

    def copy(project: Path) -> Path:
        target = tmp_path / project.name
        shutil.copytree(project, target)
        return target

    return copy
