"""Rules across configuration keys about a stack's life: what prod must be, and what a customer-managed key
needs. StackConfig's validator calls these; each problem names the key, its value and the rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.config import StackConfig

PROD_ENVIRONMENT = "prod"
"""The environment that must be production-grade: private, protected, isolated."""


def production_grade_problems(config: StackConfig, project: str) -> list[str]:
    """Why a prod stack is not production-grade (public, unprotected or without an isolated managed network)."""
    if config.environment != PROD_ENVIRONMENT:
        return []
    problems = []
    if config.network_profile != "private":
        problems.append(
            f"{project}:networkProfile = {config.network_profile!r}: must be 'private' when environment is "
            "'prod' (no public endpoint on the workspace, its storage, vault or registry)"
        )
    if not config.protect_stateful_resources:
        problems.append(
            f"{project}:protectStatefulResources = False: must be true when environment is 'prod' (pulumi "
            "destroy and a portal click must not delete prod data)"
        )
    if config.managed_network_isolation != "AllowOnlyApprovedOutbound":
        problems.append(
            f"{project}:managedNetworkIsolation = {config.managed_network_isolation!r}: must be "
            "'AllowOnlyApprovedOutbound' when environment is 'prod' (no exfiltration path from jobs)"
        )
    return problems


def customer_managed_key_problems(config: StackConfig, project: str) -> list[str]:
    """Why a stack cannot encrypt its workspace with a customer-managed key.

    The key lives in the stack's vault: losing the vault loses the workspace's data, so the vault must be
    protected from `pulumi destroy` (its purge protection is always on, as Azure ML requires).
    """
    if not config.workspace_customer_managed_key or config.protect_stateful_resources:
        return []
    return [
        f"{project}:workspaceCustomerManagedKey = True: needs protectStatefulResources true; the key in the "
        "stack's key vault encrypts the workspace's data, which is lost with the key"
    ]
