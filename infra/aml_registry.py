"""The Azure ML registry models are promoted through: which stack owns it, how every stack names it, and what a
stack needs to reach it.

One stack owns the registry (`createAmlRegistry: true`, prod); the others name their owner
(`amlRegistryOwnerStack`). Every stack derives the registry's name and ARM ID the same way, from the owner's
committed `Pulumi.<owner>.yaml` and infra/naming.py, so no stack types the name and none needs another stack's
state: dev and staging deploy before prod (pipelines/azure-pipelines/infra.yml) and the offline plan runs each
stack alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import machinelearningservices as ml

from infra.arm_reads import existing
from infra.components.access import Grant
from infra.components.ml_registry import (
    MachineLearningRegistry,
    MachineLearningRegistryArgs,
    system_created_ids,
)
from infra.config import PROJECT, StackConfig, parse_stack_config, project_config_values
from infra.errors import InvalidStackConfig
from infra.github_runs_on import RunsOn, github_runs_on
from infra.naming import ResourceNames, stack_agent_pool
from infra.plan.stack_files import available_stacks, load_stack_config
from infra.roles import BuiltInRole

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Where the committed stack files (Pulumi.<stack>.yaml) live."""


@dataclass(frozen=True)
class RegistryRef:
    """The registry a stack uses, named the way its owner names it."""

    name: str
    """Registry name, as in azureml://registries/<name>/models/..."""
    resource_group: str
    """The owner stack's resource group, where the registry lives."""
    subscription_id: str
    """The owner stack's subscription."""
    owner_stack: str
    """The stack that creates the registry."""
    agent_pool: str
    """The owner's agent pool (its `agentPoolName`), "" when the owner is public: a private registry answers only
    inside the owner's VNet, so the pipeline job that shares a model into it runs there."""
    github_runs_on: RunsOn = ""
    """The owner's GitHub `runs-on` (its `githubRunsOn`: a runner group or self-hosted runner labels), "" when the
    owner is public or has no GitHub runners: the GitHub Actions job that shares a model into a private registry
    runs there."""

    @property
    def id(self) -> str:
        """The registry's ARM ID."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/registries/{self.name}"
        )


def committed_config(stack: str, *, root: Path | None = None, project: str = PROJECT) -> StackConfig:
    """The validated configuration of a committed stack (Pulumi.yaml defaults, then Pulumi.<stack>.yaml) under
    `root` (REPO_ROOT by default)."""
    try:
        return parse_stack_config(project_config_values(load_stack_config(root or REPO_ROOT, stack), project))
    except InvalidStackConfig as err:
        msg = f"Pulumi.{stack}.yaml (read to derive the Azure ML registry's name) is invalid: {err}"
        raise InvalidStackConfig(msg) from err


def registry_ref(
    config: StackConfig, *, stack: str, subscription_id: str, project: str = PROJECT, root: Path | None = None
) -> RegistryRef | None:
    """The registry `stack` owns or uses, None when it has none; `subscription_id` is the stack's own."""
    if config.create_aml_registry:
        owner, owner_config = stack, config
    elif config.aml_registry_owner_stack is not None:
        owner = config.aml_registry_owner_stack
        owner_config = committed_config(owner, root=root, project=project)
        if not owner_config.create_aml_registry:
            msg = (
                f"{project}:amlRegistryOwnerStack = {owner!r}: Pulumi.{owner}.yaml must set createAmlRegistry: true "
                "(the owner creates the registry; the stacks naming it as owner promote through it)"
            )
            raise InvalidStackConfig(msg)
    else:
        return None
    owner_subscription = config.aml_registry_subscription_id or subscription_id
    names = ResourceNames.for_config(
        owner_config, subscription_id=owner_subscription, project=project, stack=owner
    )
    return RegistryRef(
        names.aml_registry,
        names.resource_group,
        owner_subscription,
        owner,
        stack_agent_pool(owner_config),
        github_runs_on(owner_config, names),
    )


def registry_consumers(
    owner: str, *, root: Path | None = None, project: str = PROJECT
) -> dict[str, StackConfig]:
    """Committed stack -> its validated configuration, for every other stack that names `owner` as its registry's
    owner (amlRegistryOwnerStack)."""
    found = {}
    for stack in available_stacks(root or REPO_ROOT):
        if stack == owner:
            continue
        config = committed_config(stack, root=root, project=project)
        if config.aml_registry_owner_stack == owner:
            found[stack] = config
    return found


def consumer_deployers(owner: str, *, root: Path | None = None, project: str = PROJECT) -> dict[str, str]:
    """Committed stack -> its CI/CD principal, for every stack that names `owner` as its registry's owner."""
    return {
        stack: config.deployer_principal_id
        for stack, config in registry_consumers(owner, root=root, project=project).items()
        if config.deployer_principal_id
    }


@dataclass(frozen=True)
class RegistryTargets:
    """What a managed network must reach privately to use a registry: the registry, its storage and its ACR."""

    registry_id: pulumi.Input[str]
    """ARM ID of the registry (private link sub-resource `amlregistry`)."""
    storage_id: pulumi.Input[str]
    """ARM ID of the storage account Azure created for the registry (models' files; sub-resource `blob`)."""
    container_registry_id: pulumi.Input[str]
    """ARM ID of the container registry Azure created for the registry (environment images; `registry`)."""


def find_registry(
    ref: RegistryRef, provider: pulumi.ProviderResource | None = None
) -> RegistryTargets | None:
    """The registry's private link targets if it exists, None while its owner stack has not created it yet.

    Consumers deploy before the owner in the infra pipeline: on their first `pulumi up` the registry is not
    there, and reaching for it (a managed private endpoint to a resource that does not exist) would fail the
    deployment. They skip the wiring then and add it on their next run. Errors other than "not found" (no
    permission, throttling) are raised: they must not silently drop the network path.
    """
    found = existing(
        lambda: ml.get_registry(
            registry_name=ref.name,
            resource_group_name=ref.resource_group,
            opts=pulumi.InvokeOptions(provider=provider),
        )
    )
    if found is None:
        pulumi.log.warn(
            f"Azure ML registry {ref.name} (stack {ref.owner_stack}) does not exist yet: its private endpoint "
            "outbound rules are added on the next `pulumi up` after the owner stack's"
        )
        return None
    storage, acr = system_created_ids(found.region_details)
    return RegistryTargets(registry_id=ref.id, storage_id=storage, container_registry_id=acr)


@dataclass(frozen=True)
class RegistryUse:
    """A stack's registry: the one it owns (and creates) or the one it promotes through, if any."""

    ref: RegistryRef | None
    """The registry, named; None when the stack uses none."""
    owned: MachineLearningRegistry | None
    """The registry's resource, in the owner stack only."""
    targets: RegistryTargets | None
    """What the managed network must reach privately; None without a registry or before it exists."""
    consumer_deployers: dict[str, str]
    """Owner only: committed consumer stack -> its deployer principal, granted AzureML Registry User here."""

    @property
    def name(self) -> str:
        """The registry's name; "" when the stack uses none."""
        return self.ref.name if self.ref else ""

    @property
    def agent_pool(self) -> str:
        """The agent pool inside the registry owner's VNet; "" without a registry or when the owner is public."""
        return self.ref.agent_pool if self.ref else ""

    @property
    def github_runs_on(self) -> RunsOn:
        """The GitHub `runs-on` inside the registry owner's VNet; "" without a registry, or when the owner is
        public or has no GitHub runners."""
        return self.ref.github_runs_on if self.ref else ""

    @property
    def id(self) -> pulumi.Input[str]:
        """The registry's ARM ID (the resource's own in the owner); "" when the stack uses none."""
        if self.owned is not None:
            return self.owned.registry_id
        return self.ref.id if self.ref else ""


def use_registry(
    config: StackConfig,
    *,
    stack: str,
    subscription_id: str,
    resource_group_name: pulumi.Input[str],
    tags: dict[str, str],
    project: str = PROJECT,
) -> RegistryUse:
    """Create the registry in its owner stack; find it, when it exists, from the stacks that use it."""
    ref = registry_ref(config, stack=stack, subscription_id=subscription_id, project=project)
    if ref is None:
        return RegistryUse(ref=None, owned=None, targets=None, consumer_deployers={})
    if config.create_aml_registry:
        owned = MachineLearningRegistry(
            "aml-registry",
            MachineLearningRegistryArgs(
                resource_group_name=resource_group_name,
                location=config.location,
                registry_name=ref.name,
                public_network_access=not config.is_private,
                storage_sku=config.storage_sku,
                tags=tags,
                protect=config.protect_stateful_resources,
            ),
        )
        targets = RegistryTargets(
            registry_id=owned.registry_id,
            storage_id=owned.storage_id,
            container_registry_id=owned.container_registry_id,
        )
        return RegistryUse(
            ref=ref,
            owned=owned,
            targets=targets,
            consumer_deployers=consumer_deployers(stack, project=project),
        )
    # Reading a registry in another subscription needs a provider signed in to it (same tenant).
    provider = (
        azure_native.Provider("aml-registry-subscription", subscription_id=ref.subscription_id)
        if ref.subscription_id != subscription_id
        else None
    )
    return RegistryUse(ref=ref, owned=None, targets=find_registry(ref, provider), consumer_deployers={})


def registry_grants(
    config: StackConfig, registry: pulumi.Input[str], workspace: pulumi.Input[str], consumers: dict[str, str]
) -> list[Grant]:
    """AzureML Registry User (read and create assets, never manage the registry), the role Microsoft names for
    sharing assets into a registry, for everyone who promotes through it. The owner grants them all: it deploys
    last, once the registry exists, and a role assignment on a missing resource fails. One assignment per
    principal: a deployer shared by several stacks is granted once (a second one would be a 409)."""
    users: dict[str, pulumi.Input[str]] = {"workspace": workspace}
    seen: set[str] = set()
    candidates = [
        ("deployer", config.deployer_principal_id),
        *((f"{stack}-deployer", principal) for stack, principal in sorted(consumers.items())),
        # Keyed by the object ID, not the list position, so reordering the config replaces nothing.
        *((f"registry-user-{principal[:8]}", principal) for principal in config.aml_registry_user_ids),
    ]
    for label, principal in candidates:
        if principal and principal not in seen:
            seen.add(principal)
            users[label] = principal
    return [
        Grant(
            key=f"{label}-aml-registry",
            principal_id=principal,
            principal_type="ServicePrincipal",
            role=BuiltInRole.AZUREML_REGISTRY_USER,
            scope=registry,
        )
        for label, principal in users.items()
    ]
