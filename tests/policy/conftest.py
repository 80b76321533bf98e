"""Fixtures for the policy gate tests: each stack planned once, its ARM model, and checkov on demand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import PROJECT
from infra.plan.arm_model import arm_template
from infra.plan.engine import Plan, run_program
from infra.plan.stack_files import available_stacks, load_stack_config
from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401 (a hook, applied to this folder)

REPO = Path(__file__).resolve().parents[2]
STACKS = tuple(available_stacks(REPO))
FIXTURES = Path(__file__).with_name("fixtures")


def checkov_installed() -> bool:
    return (REPO / ".venv-checkov" / "bin" / "checkov").is_file()


def require_checkov() -> None:
    """Fail (never skip) when the checkov environment is missing: `make test` installs it."""
    if not checkov_installed():
        pytest.fail("checkov is not installed in .venv-checkov: run `make setup-checkov` (make test does)")


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    return {stack: run_program(stack, load_stack_config(REPO, stack)) for stack in STACKS}


@pytest.fixture(scope="session")
def templates(plans: dict[str, Plan]) -> dict[str, dict[str, Any]]:
    return {stack: arm_template(plan, PROJECT) for stack, plan in plans.items()}


@pytest.fixture(scope="session")
def schema_names() -> dict[str, Any]:
    return json.loads((FIXTURES / "arm_schema_names.json").read_text())["types"]
