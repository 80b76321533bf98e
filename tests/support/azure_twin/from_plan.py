"""A stack's twin from its offline plan: the real Pulumi program under the mock engine, run once per stack.

Resources are read by Pulumi type token, generically: a resource type another part adds (the agents' Managed
DevOps Pool) appears here as soon as the program declares it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from infra.config import PROJECT
from infra.plan.arm_types import is_arm_token
from infra.plan.engine import Plan, PlannedResource, run_program
from infra.plan.stack_files import load_stack_config

from .model import (
    AgentPool,
    AzureTwin,
    ContainerRegistry,
    FunctionApp,
    KeyVault,
    Registry,
    RunnerJob,
    StackTwin,
    StateResource,
    Workspace,
)

REPO = Path(__file__).resolve().parents[3]
STACKS = ("dev", "staging", "prod")

WORKSPACE = "azure-native:machinelearningservices:Workspace"
DATASTORE = "azure-native:machinelearningservices:Datastore"
COMPUTE = "azure-native:machinelearningservices:Compute"
REGISTRY = "azure-native:machinelearningservices:Registry"
WEB_APP = "azure-native:web:WebApp"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
AGENT_POOL = "azure-native:devopsinfrastructure:Pool"
DATABRICKS_WORKSPACE = "azure-native:databricks:Workspace"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
KEY_VAULT = "azure-native:keyvault:Vault"
CONTAINER_APPS_JOB = "azure-native:app:Job"

SYSTEM_DATASTORES = (
    "workspaceblobstore",
    "workspacefilestore",
    "workspaceartifactstore",
    "workspaceworkingdirectory",
)
"""Datastores Azure ML creates with every workspace (not declared by the program)."""


@cache
def plan_of(stack: str) -> Plan:
    """The committed stack's offline plan, run once per process."""
    return run_program(stack, load_stack_config(REPO, stack))


def _name(resource: PlannedResource, *keys: str) -> str:
    for key in keys:
        if resource.inputs.get(key):
            return str(resource.inputs[key])
    return (resource.resource_id or resource.name).rsplit("/", 1)[-1]


def _public(inputs: dict[str, Any]) -> bool:
    # Azure's default for every resource type here is Enabled: only an explicit Disabled closes it.
    return str(inputs.get("publicNetworkAccess", "Enabled")).casefold() != "disabled"


def _workspace(plan: Plan, resource: PlannedResource) -> Workspace:
    name = _name(resource, "workspaceName")
    children = [r for r in plan.resources if r.inputs.get("workspaceName") == name]
    return Workspace(
        name=name,
        resource_id=str(resource.resource_id),
        resource_group=str(resource.inputs["resourceGroupName"]),
        subscription_id=str(plan.outputs.get("subscriptionId", "")),
        public_network_access=_public(resource.inputs),
        managed_network_isolation=str(
            (resource.inputs.get("managedNetwork") or {}).get("isolationMode", "Disabled")
        ),
        private_endpoint_rules={
            rule: str(spec["destination"]["serviceResourceId"])
            for rule, spec in (
                (resource.inputs.get("managedNetwork") or {}).get("outboundRules") or {}
            ).items()
            if spec.get("type") == "PrivateEndpoint"
        },
        datastores=[*SYSTEM_DATASTORES, *(_name(r, "name") for r in children if r.type == DATASTORE)],
        computes=[_name(r, "computeName") for r in children if r.type == COMPUTE],
    )


def _private_link_targets(plan: Plan) -> list[str]:
    return [
        str(connection["privateLinkServiceId"])
        for endpoint in plan.of_type(PRIVATE_ENDPOINT)
        for connection in endpoint.inputs.get("privateLinkServiceConnections") or []
    ]


def _private_endpoint_urns(plan: Plan) -> dict[str, str]:
    return {
        str(connection["privateLinkServiceId"]): urn(plan, endpoint)
        for endpoint in plan.of_type(PRIVATE_ENDPOINT)
        for connection in endpoint.inputs.get("privateLinkServiceConnections") or []
    }


def _runner_job(plan: Plan, resource: PlannedResource) -> RunnerJob:
    (container,) = resource.inputs["template"]["containers"]
    secrets = (resource.inputs.get("configuration") or {}).get("secrets") or []
    return RunnerJob(
        name=_name(resource, "jobName"),
        urn=urn(plan, resource),
        image=str(container["image"]),
        key_vault_urls=[str(s["keyVaultUrl"]) for s in secrets if s.get("keyVaultUrl")],
    )


def urn(plan: Plan, resource: PlannedResource) -> str:
    """The resource's URN as Pulumi forms it: its ancestors' types and its own, joined by '$'."""
    by_name = {r.name: r for r in plan.resources}
    types, parent = [resource.type], resource.parent
    while parent is not None:
        types.insert(0, by_name[parent].type)
        parent = by_name[parent].parent
    return f"urn:pulumi:{plan.stack}::{PROJECT}::{'$'.join(types)}::{resource.name}"


def _state(plan: Plan) -> list[StateResource]:
    """Every custom resource; a Databricks object's deletes go to its workspace's API (the only non-ARM provider)."""
    workspaces = plan.of_type(DATABRICKS_WORKSPACE)
    resources = []
    for resource in (r for r in plan.resources if r.custom and not r.type.startswith("pulumi:")):
        owner = None if is_arm_token(resource.type) else workspaces[0]
        resources.append(
            StateResource(
                urn=urn(plan, resource),
                type=resource.type,
                data_plane_of=str(owner.resource_id) if owner else "",
                public=_public(owner.inputs) if owner else True,
            )
        )
    return resources


def stack_twin(plan: Plan) -> StackTwin:
    """The stack as the twin models it (not yet deployed: `pulumi up` deploys it)."""
    function_apps = [r for r in plan.of_type(WEB_APP) if "functionapp" in str(r.inputs.get("kind", ""))]
    return StackTwin(
        stack=plan.stack,
        outputs=dict(plan.outputs),
        workspaces=[_workspace(plan, r) for r in plan.of_type(WORKSPACE)],
        registries=[
            Registry(
                name=_name(r, "registryName"),
                resource_id=str(r.resource_id),
                public_network_access=_public(r.inputs),
            )
            for r in plan.of_type(REGISTRY)
        ],
        function_apps=[
            FunctionApp(
                name=_name(r, "name"),
                resource_id=str(r.resource_id),
                resource_group=str(r.inputs["resourceGroupName"]),
                public_network_access=_public(r.inputs),
            )
            for r in function_apps
        ],
        agent_pools=[
            AgentPool(name=_name(r, "poolName"), resource_id=str(r.resource_id), urn=urn(plan, r))
            for r in plan.of_type(AGENT_POOL)
        ],
        private_link_targets=_private_link_targets(plan),
        private_endpoint_urns=_private_endpoint_urns(plan),
        container_registries=[
            ContainerRegistry(
                name=_name(r, "registryName"),
                login_server=f"{_name(r, 'registryName').lower()}.azurecr.io",
                resource_id=str(r.resource_id),
                urn=urn(plan, r),
                public_network_access=_public(r.inputs),
            )
            for r in plan.of_type(CONTAINER_REGISTRY)
        ],
        key_vaults=[
            KeyVault(
                name=_name(r, "vaultName"),
                resource_id=str(r.resource_id),
                urn=urn(plan, r),
                public_network_access=_public(r.inputs.get("properties") or {}),
            )
            for r in plan.of_type(KEY_VAULT)
        ],
        runner_jobs=[_runner_job(plan, r) for r in plan.of_type(CONTAINER_APPS_JOB)],
        components=[urn(plan, r) for r in plan.resources if not r.custom],
        resources=_state(plan),
    )


def cloud_of(
    stacks: dict[str, StackTwin], *, deployed: bool, registry_connections_approved: bool | None = None
) -> AzureTwin:
    """A fresh twin of `stacks`; `deployed` as if the infra pipeline had already run `pulumi up` on each and (unless
    `registry_connections_approved` is False) the registry's owner had approved the workspaces' connections to it,
    the one step of the first run done by hand (docs/first-run.md)."""
    cloud = AzureTwin(
        stacks={name: t.model_copy(deep=True, update={"deployed": deployed}) for name, t in stacks.items()}
    )
    if deployed if registry_connections_approved is None else registry_connections_approved:
        cloud.approve_registry_connections()
    return cloud
