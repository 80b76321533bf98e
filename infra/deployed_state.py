"""What the stack's deployed workspace is now, read from Azure before anything is declared.

Some workspace settings only move one way (managed network isolation) or never change after creation (the
customer-managed key). Pulumi would send the change and Azure refuse it half-way through an update; reading
the deployed workspace first refuses it at preview, naming the key and Microsoft's rule. The read is an
invoke of the workspace's GET: the truth in Azure, including changes made outside Pulumi. A workspace that
does not exist yet (a new stack, a new name generation) has nothing to compare against.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_azure_native import machinelearningservices as ml

from infra.arm_reads import existing
from infra.config import PROJECT, StackConfig
from infra.errors import RefusedStackChange
from policy.rules.aml import encryption_switch, isolation_loosening


@dataclass(frozen=True)
class DeployedWorkspace:
    """The settings of the deployed workspace that constrain the next change."""

    isolation_mode: str
    """Its managed network isolation mode (Azure's default, Disabled, when it has no managed network)."""
    customer_managed_key: bool
    """Whether it was created with a customer-managed key."""


def deployed_workspace(resource_group_name: str, workspace_name: str) -> DeployedWorkspace | None:
    """The deployed workspace's settings; None when there is no such workspace yet."""
    found = existing(
        lambda: ml.get_workspace(resource_group_name=resource_group_name, workspace_name=workspace_name)
    )
    if found is None:
        return None
    network = found.managed_network
    return DeployedWorkspace(
        isolation_mode=(network.isolation_mode if network else None) or "Disabled",
        customer_managed_key=bool(found.encryption and found.encryption.status == "Enabled"),
    )


def refuse_impossible_changes(deployed: DeployedWorkspace | None, config: StackConfig) -> None:
    """Raise RefusedStackChange when `config` asks the deployed workspace for a change Azure refuses."""
    if deployed is None:
        return
    problems = []
    loosening = isolation_loosening(deployed.isolation_mode, config.managed_network_isolation)
    if loosening:
        problems.append(
            f"{PROJECT}:managedNetworkIsolation = {config.managed_network_isolation!r}: {loosening}"
        )
    switch = encryption_switch(deployed.customer_managed_key, config.workspace_customer_managed_key)
    if switch:
        problems.append(
            f"{PROJECT}:workspaceCustomerManagedKey = {config.workspace_customer_managed_key}: {switch}"
        )
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        msg = f"the deployed workspace cannot take this configuration:\n{lines}"
        raise RefusedStackChange(msg)
