"""Fixtures for the infrastructure tests: each stack's program run once under the mock engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import PROJECT, StackConfig, parse_stack_config, project_config_values
from infra.plan.engine import Plan, mock_registry_region_details, run_program
from infra.plan.stack_files import load_stack_config
from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401 (a hook, applied to this folder)

REPO = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")


def stack_config(stack: str, **overrides: str) -> dict[str, str]:
    """The stack file's configuration (with Pulumi.yaml defaults), with keys overridden by camelCase name."""
    config = load_stack_config(REPO, stack)
    config.update({f"azure-mlops:{key}": value for key, value in overrides.items()})
    return config


def config_of(stack: str) -> StackConfig:
    """The validated configuration of a committed stack."""
    return parse_stack_config(project_config_values(load_stack_config(REPO, stack)))


def registry_resources(plan: Plan) -> tuple[str, str]:
    """(storage account ID, ACR ID) that Azure creates for the plan's Azure ML registry, as the mocks report them."""
    registry = plan.one("azure-native:machinelearningservices:Registry")
    subscription = registry.resource_id.split("/")[2]
    (region,) = mock_registry_region_details(
        subscription,
        registry.inputs["resourceGroupName"],
        registry.inputs["registryName"],
        registry.inputs["location"],
    )
    return (
        region["storageAccountDetails"][0]["systemCreatedStorageAccount"]["armResourceId"]["resourceId"],
        region["acrDetails"][0]["systemCreatedAcrAccount"]["armResourceId"]["resourceId"],
    )


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """The committed stacks, each run once per test session."""
    return {stack: run_program(stack, stack_config(stack)) for stack in STACKS}


@pytest.fixture(params=STACKS)
def plan(request: pytest.FixtureRequest, plans: dict[str, Plan]) -> Plan:
    """Each committed stack in turn."""
    return plans[request.param]


def agent_pool_name(stack: str) -> str:
    """The agent pool name a committed private stack gets (stack output agentPoolName), derived as the stack
    derives it: from the stack file alone."""
    from infra.naming import ResourceNames
    from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID

    config = config_of(stack)
    names = ResourceNames.for_stack(
        workload=config.workload,
        environment=config.environment,
        location=config.location,
        subscription_id=DEFAULT_SUBSCRIPTION_ID,
        project=PROJECT,
        stack=stack,
    )
    return names.agent_pool(str(config.agent_pool_organization_url))
