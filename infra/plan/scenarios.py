"""Scenarios the offline plan and the gate run besides the committed stacks: a stack file with a feature on.

A feature that no committed stack enables (Databricks) must still pass the policy gate and price out:
each scenario is a committed stack's configuration plus the keys that switch the feature on. The principal
IDs here are fixed example GUIDs for the offline plan only; a real stack sets its own in its stack file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.config import PROJECT
from infra.plan.stack_files import load_stack_config

DATABRICKS_SETTINGS: Mapping[str, str] = {
    "databricksEnabled": "true",
    "databricksJobPackage": "diabetes_progression",  # the template's default project
    "databricksTrainingTable": "ml.diabetes_progression.training",
    "databricksJobClientId": "5a1d0c3e-8b2f-4e6a-9c7d-1e2f3a4b5c6d",
    "databricksJobPrincipalId": "6b2e1d4f-9c3a-4f7b-8d6e-2f3a4b5c6d7e",
    "azureDatabricksPrincipalId": "7c3f2e5a-0d4b-4a8c-9e7f-3a4b5c6d7e8f",
}
"""camelCase key -> value that turns Databricks on, with example principals."""


@dataclass(frozen=True)
class Scenario:
    """A committed stack's configuration with some keys overridden."""

    base: str
    """The stack whose Pulumi.<stack>.yaml (and Pulumi.yaml defaults) the scenario starts from."""
    overrides: Mapping[str, str] = field(default_factory=dict)
    """camelCase key -> value, applied on top."""

    def config(self, root: Path) -> dict[str, str]:
        """The scenario's configuration as "<namespace>:<key>" -> string, the way a stack's is read."""
        values = load_stack_config(root, self.base)
        values.update({f"{PROJECT}:{key}": value for key, value in self.overrides.items()})
        return values


SCENARIOS: Mapping[str, Scenario] = {
    # The private profile: VNet injection, private endpoint, no Azure Databricks NSG rules.
    "prod-databricks": Scenario("prod", DATABRICKS_SETTINGS),
    # The public profile: the workspace keeps its public endpoint, clusters still have no public IP.
    "dev-databricks": Scenario("dev", DATABRICKS_SETTINGS),
    # The workspace's customer-managed key (docs/stack-lifecycle.md): the key, its identity and grant.
    "prod-cmk": Scenario("prod", {"workspaceCustomerManagedKey": "true"}),
    # GitHub-hosted runners in the VNet (docs/github-runners.md): their subnet, NSG and networkSettings deployment.
    # GitHub serves no private networking in westeurope, so the scenario moves prod to northeurope (and off the
    # container-apps runners the committed prod uses).
    "prod-github-runners": Scenario(
        "prod",
        {
            "location": "northeurope",
            "githubRunners": "private-networking",
            "githubRunnerUrl": "",
            "githubAppId": "",
            "githubAppInstallationId": "",
            "githubRunnerBusinessId": "123456789",
            "githubRunnerGroup": "mlops-prod",
        },
    ),
}
"""Scenario name (used as the plan's stack name) -> scenario."""
