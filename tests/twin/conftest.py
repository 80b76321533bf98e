"""Fixtures for the twin tests: each stack's twin built once per session from its offline plan, and generated
projects (one per answer combination) to run their CD from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401 (a hook, applied to this folder)
from tests.support.azure_twin.from_plan import STACKS, cloud_of, plan_of, stack_twin
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
