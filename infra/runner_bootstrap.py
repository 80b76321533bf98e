"""What the infra pipeline's deployer needs before a stack's GitHub runner job exists: push its image, store its key.

The Container Apps job pulls its image from the stack's registry and resolves its Key Vault reference to the
GitHub App's key when it is created (docs/github-runners.md), and both live in resources the same `pulumi up`
creates. So the infra pipeline first brings up the vault, the registry, their private endpoints and these grants
(runner_bootstrap_targets, a targeted `pulumi up`), then, from the stack's agent pool inside the VNet, pushes the
image and stores the key as the deployer (the stack's service connection), then runs the full `pulumi up`.
"""

from __future__ import annotations

import pulumi

from infra.components.access import Grant
from infra.config import StackConfig
from infra.naming import stack_urn_root
from infra.roles import BuiltInRole

RUNNER_DEPLOYER_ACCESS = "runner-deployer-access"
"""The AccessControl component holding the deployer's two grants."""


def runner_deployer_grants(
    config: StackConfig, key_vault_id: pulumi.Input[str], registry_id: pulumi.Input[str]
) -> tuple[Grant, ...]:
    """The deployer writes the App's key into the stack's vault and pushes the runner image; nothing else.

    Key Vault Secrets Officer on the vault: the secret does not exist before the pipeline stores it, and Microsoft
    recommends vault-scoped assignments over per-secret ones
    (https://learn.microsoft.com/azure/key-vault/general/rbac-guide); the vault is the stack's own. AcrPush on the
    registry: push the image and read its manifests (the pipeline's existence check). None without the runners or
    without a deployer principal."""
    deployer = config.deployer_principal_id
    if not config.github_container_apps or not deployer:
        return ()
    return (
        Grant(
            key="deployer-runner-key-write",
            principal_id=deployer,
            principal_type="ServicePrincipal",
            role=BuiltInRole.KEY_VAULT_SECRETS_OFFICER,
            scope=key_vault_id,
        ),
        Grant(
            key="deployer-runner-image-push",
            principal_id=deployer,
            principal_type="ServicePrincipal",
            role=BuiltInRole.ACR_PUSH,
            scope=registry_id,
        ),
    )


def runner_bootstrap_targets(config: StackConfig, stack: str) -> tuple[str, ...]:
    """URN patterns (`pulumi up --target`) of what `stack`'s runner job's prerequisites need: the vault, the
    registry, their private endpoints (the agents reach both only through them) and the deployer's grants. The
    pool, the VNet and its DNS zones are up already (the agents_<stack> job). None without container-apps runners
    (no runner job: nothing to push or store)."""
    if not config.github_container_apps:
        return ()
    root = stack_urn_root(stack)
    endpoints = f"{root}azure-mlops:network:PrivateEndpoints"
    return (
        f"{root}azure-mlops:security:KeyVault**",
        f"{root}azure-mlops:containers:ContainerRegistry**",
        f"{endpoints}::private-endpoints",
        *(
            f"{endpoints}$azure-native:network:{kind}::private-endpoints-{target}{suffix}"
            for target in ("vault", "registry")
            for kind, suffix in (("PrivateEndpoint", ""), ("PrivateDnsZoneGroup", "-dns"))
        ),
        # The component and its role assignments; a pattern, since a stack without deployerPrincipalId has none.
        f"{root}azure-mlops:authorization:AccessControl**{RUNNER_DEPLOYER_ACCESS}**",
    )
