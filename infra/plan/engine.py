"""Run the real stack program under the Pulumi SDK's mock engine and record the resource graph.

The program, its components and the azure-native resource classes all run for real; only the
engine behind them is the SDK's mock. The mocks return what Azure would compute (ARM IDs, identity
principal IDs, the registry's login server, the workspace's MLflow URI), so references between
resources are real values that tests can compare.
"""

from __future__ import annotations

import gc
import hashlib
import uuid
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import SETTINGS, set_root_resource
from pulumi.runtime.sync_await import _sync_await

from infra.config import PROJECT, StackConfig
from infra.errors import PlanError
from infra.plan.arm_types import arm_resource_type, is_arm_token
from infra.policy_waivers import Waiver, take_recorded

DEFAULT_SUBSCRIPTION_ID = "6f1a3c52-0d4e-4b7a-9c1e-2f3a4b5c6d7e"
"""The subscription the offline plan pretends to deploy to; resource names depend on it."""
DEFAULT_TENANT_ID = "0c5a9e1f-7b2d-4e3a-8f6c-1d2e3f4a5b6c"
"""The tenant the offline plan pretends to use."""

_IDENTITY_NAMESPACE = uuid.UUID("3b8f7c1e-5a2d-4f6e-9b0c-7d1e2f3a4b5c")


@dataclass(frozen=True)
class PlannedResource:
    """One resource as the engine saw it registered."""

    type: str
    """Pulumi type token, e.g. azure-native:storage:StorageAccount."""
    name: str
    """Logical (Pulumi) name."""
    parent: str | None
    """Logical name of the parent component, None at the stack's root."""
    inputs: dict[str, Any]
    """Inputs as the engine received them: wire (camelCase) names, SDK defaults filled in."""
    protect: bool
    """Whether `pulumi destroy` refuses to delete it."""
    custom: bool
    """True for cloud resources, False for components."""
    resource_id: str | None = None
    """The ARM ID the mocks gave it (a Databricks object: its workspace-level ID; None for components)."""
    retain_on_delete: bool = False
    """Whether Pulumi leaves it in Azure when it is deleted from the stack."""
    dependencies: tuple[str, ...] = ()
    """Logical names of the resources it waits for: those its inputs reference and its `depends_on`."""


@dataclass
class Plan:
    """The resource graph and stack outputs of one mocked run."""

    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    """The configuration the program ran with ("<namespace>:<key>" -> string)."""
    waivers: list[Waiver] = field(default_factory=list)
    """The checkov skips the components declared during the run (infra/policy_waivers.py)."""

    def of_type(self, token: str) -> list[PlannedResource]:
        """Every resource of the Pulumi type `token`."""
        return [r for r in self.resources if r.type == token]

    def one(self, token: str) -> PlannedResource:
        """The single resource of type `token`; fails loudly when there are none or several."""
        found = self.of_type(token)
        if len(found) != 1:
            msg = f"expected exactly one {token}, found {[r.name for r in found]}"
            raise AssertionError(msg)
        return found[0]

    def named(self, name: str) -> PlannedResource:
        """The resource with logical name `name`."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        msg = f"no resource named {name!r}; names: {sorted(r.name for r in self.resources)}"
        raise KeyError(msg)

    def by_id(self, resource_id: str) -> PlannedResource:
        """The resource whose ARM ID is `resource_id`."""
        for resource in self.resources:
            if resource.resource_id == resource_id:
                return resource
        msg = f"no resource has ARM ID {resource_id!r}"
        raise KeyError(msg)


def mock_number(*parts: str, digits: int = 15) -> str:
    """A stable decimal ID of `digits` digits for `parts`: Databricks numbers its workspaces, jobs and users."""
    number = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")
    return str(10 ** (digits - 1) + number % (9 * 10 ** (digits - 1)))


def _databricks_object(token: str, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """ID and computed outputs of an object inside a Databricks workspace, shaped as its REST API returns it."""
    kind = token.rsplit(":", 1)[-1]
    state: dict[str, Any] = dict(inputs)
    if kind == "ClusterPolicy":
        object_id = hashlib.sha256(name.encode()).hexdigest()[:16].upper()  # policy IDs are 16 hex digits
        state["policyId"] = object_id
    elif kind == "SecretScope":
        object_id = str(inputs["name"])
    elif kind == "SecretAcl":
        object_id = f"{inputs['scope']}|||{inputs['principal']}"
    elif kind == "Permissions":
        object_id = f"/cluster-policies/{inputs.get('clusterPolicyId', '')}"
    else:  # jobs, service principals ...: numeric IDs
        object_id = mock_number(token, name)
    return object_id, state


def mock_deployment_properties(deployment_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    """What Azure reports for a finished deployment of a one-resource template: its outputs, evaluated.

    The mock evaluates the two output forms the program's templates use: `[resourceId('<type>', parameters('name'))]`
    (the resource's ARM ID in the deployment's resource group) and `[reference(..., 'Full').tags.GitHubId]` (the
    tag GitHub.Network sets on a networkSettings resource; a digest of the resource ID here). Anything else stops
    the plan rather than answer something Azure would not.
    """
    template, parameters = properties["template"], properties.get("parameters") or {}
    (resource,) = template["resources"]
    name = parameters["name"]["value"]
    group = deployment_id.split("/providers/Microsoft.Resources/deployments/")[0]
    resource_id = f"{group}/providers/{resource['type']}/{name}"
    outputs = {}
    for key, output in (template.get("outputs") or {}).items():
        expression = str(output["value"])
        if expression.startswith("[resourceId("):
            value = resource_id
        elif expression.startswith("[reference(") and expression.endswith(".tags.GitHubId]"):
            value = hashlib.sha256(resource_id.lower().encode()).hexdigest().upper()
        else:
            msg = f"deployment {deployment_id}: the mock cannot evaluate output {key!r} = {expression!r}"
            raise PlanError(msg)
        outputs[key] = {"type": output["type"], "value": value}
    return {**properties, "provisioningState": "Succeeded", "outputs": outputs}


def mock_registry_region_details(
    subscription_id: str, resource_group: str, registry_name: str, location: str
) -> list[dict[str, Any]]:
    """What Azure reports for a registry's primary region: the storage account and ACR it created, in a managed
    resource group `azureml-rg-<registry>_<GUID>` (the GUID random in Azure, derived from the registry here)."""
    registry_id = (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.MachineLearningServices/registries/{registry_name}"
    )
    digest = hashlib.sha256(registry_id.lower().encode()).hexdigest()
    group = f"/subscriptions/{subscription_id}/resourceGroups/azureml-rg-{registry_name}_{uuid.uuid5(_IDENTITY_NAMESPACE, registry_id)}"
    storage, acr = f"st{digest[:20]}", f"cr{digest[20:40]}"
    return [
        {
            "location": location,
            "storageAccountDetails": [
                {
                    "systemCreatedStorageAccount": {
                        "storageAccountName": storage,
                        "armResourceId": {
                            "resourceId": f"{group}/providers/Microsoft.Storage/storageAccounts/{storage}"
                        },
                    }
                }
            ],
            "acrDetails": [
                {
                    "systemCreatedAcrAccount": {
                        "acrAccountName": acr,
                        "armResourceId": {
                            "resourceId": f"{group}/providers/Microsoft.ContainerRegistry/registries/{acr}"
                        },
                    }
                }
            ],
        }
    ]


def mock_principal_id(resource_id: str) -> str:
    """The object ID the mocks give the system-assigned identity of the resource with ARM ID `resource_id`."""
    return str(uuid.uuid5(_IDENTITY_NAMESPACE, resource_id))


class _ProviderError(grpc.RpcError):
    """An invoke the provider answered with an error, as the engine hands it to the SDK (a gRPC status)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


class _AzureMocks(pulumi.runtime.Mocks):
    """Answers like Azure would: ARM IDs from the type mapping, plus the outputs Azure computes."""

    def __init__(
        self,
        subscription_id: str,
        tenant_id: str,
        *,
        aml_registry_exists: bool = True,
        deployed_workspace: Mapping[str, Any] | None = None,
    ) -> None:
        self.subscription_id = subscription_id
        self.tenant_id = tenant_id
        self.aml_registry_exists = aml_registry_exists
        self.deployed_workspace = deployed_workspace
        self.provider_subscriptions: dict[str, str] = {}
        """Explicit provider's ID -> the subscription it was configured for."""
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.ids: dict[tuple[str, str], str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        if not args.custom:
            return None, {}
        if args.typ.startswith("pulumi:providers:"):
            provider_id = str(uuid.uuid5(_IDENTITY_NAMESPACE, args.name))
            if "subscriptionId" in args.inputs:
                self.provider_subscriptions[provider_id] = args.inputs["subscriptionId"]
            return provider_id, dict(args.inputs)
        if not is_arm_token(args.typ):
            object_id, state = _databricks_object(args.typ, args.name, args.inputs)
            self.ids[(args.typ, args.name)] = object_id
            return object_id, state
        arm = arm_resource_type(args.typ)
        resource_id = arm.resource_id(args.inputs, self.subscription_id)
        self.ids[(args.typ, args.name)] = resource_id
        state: dict[str, Any] = {**args.inputs, "name": resource_id.rsplit("/", 1)[-1], "type": arm.arm_type}
        if "identity" in args.inputs:
            state["identity"] = {
                **args.inputs["identity"],
                "principalId": mock_principal_id(resource_id),
                "tenantId": self.tenant_id,
            }
            # Inputs list user-assigned identities by ID; Azure answers with a map of ID -> its principal.
            assigned = args.inputs["identity"].get("userAssignedIdentities")
            if isinstance(assigned, list):
                state["identity"]["userAssignedIdentities"] = {
                    uai: {
                        "principalId": mock_principal_id(uai),
                        "clientId": mock_principal_id(f"{uai}/client"),
                    }
                    for uai in assigned
                }
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state["principalId"] = mock_principal_id(resource_id)
            state["clientId"] = mock_principal_id(f"{resource_id}/client")
            state["tenantId"] = self.tenant_id
        if args.typ == "azure-native:keyvault:Key":
            version = hashlib.sha256(resource_id.encode()).hexdigest()[:32]
            uri = f"https://{args.inputs['vaultName']}.vault.azure.net/keys/{args.inputs['keyName']}"
            state["keyUri"], state["keyUriWithVersion"] = uri, f"{uri}/{version}"
        if args.typ == "azure-native:containerregistry:Registry":
            state["loginServer"] = f"{args.inputs['registryName'].lower()}.azurecr.io"
        if args.typ == "azure-native:databricks:Workspace":
            workspace_number = mock_number(resource_id, digits=16)
            state["workspaceId"] = workspace_number
            state["workspaceUrl"] = (
                f"adb-{workspace_number}.{int(workspace_number) % 19 + 1}.azuredatabricks.net"
            )
        if args.typ == "azure-native:network:PublicIPAddress":
            # Azure allocates the address; the mock takes one from the documentation range (RFC 5737).
            state["ipAddress"] = f"203.0.113.{int(mock_number(resource_id, digits=3)) % 254 + 1}"
        if args.typ == "azure-native:network:AzureFirewall":
            # Azure gives each IP configuration an address of its subnet; the mock one from RFC 5737's range.
            state["ipConfigurations"] = [
                {**configuration, "privateIPAddress": f"192.0.2.{index + 4}"}
                for index, configuration in enumerate(state.get("ipConfigurations") or [])
            ]
        if args.typ == "azure-native:resources:Deployment":
            state["properties"] = mock_deployment_properties(resource_id, args.inputs["properties"])
        if args.typ == "azure-native:machinelearningservices:Registry":
            state["regionDetails"] = mock_registry_region_details(
                self.subscription_id,
                args.inputs["resourceGroupName"],
                args.inputs["registryName"],
                args.inputs["location"],
            )
        if args.typ == "azure-native:machinelearningservices:Workspace":
            region = args.inputs["location"]
            state["mlFlowTrackingUri"] = f"azureml://{region}.api.azureml.ms/mlflow/v1.0{resource_id}"
        if args.typ == "azure-native:applicationinsights:Component":
            key = mock_principal_id(resource_id)
            state["connectionString"] = (
                f"InstrumentationKey={key};IngestionEndpoint=https://{args.inputs['location']}-0.in.applicationinsights.azure.com/"
            )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "4d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f",
                "objectId": "9e8d7c6b-5a4f-4e3d-a2c1-b0a9f8e7d6c5",
                "subscriptionId": self.subscription_id,
                "tenantId": self.tenant_id,
            }
        if args.token == "azure-native:machinelearningservices:getRegistry":
            return self._registry(args.args, args.provider)
        if args.token == "azure-native:machinelearningservices:getWorkspace":
            return self._get_workspace(args.args)
        msg = f"the offline plan has no answer for the invoke {args.token!r}"
        raise NotImplementedError(msg)

    def _registry(self, args: Mapping[str, Any], provider: str) -> dict[str, Any]:
        """An existing Azure ML registry as `getRegistry` returns it; Azure's 404 while it does not exist."""
        group, name = args["resourceGroupName"], args["registryName"]
        if not self.aml_registry_exists:
            msg = (
                f'Code="ResourceNotFound" Message="The Resource \'Microsoft.MachineLearningServices/registries/{name}\' '
                f"under resource group '{group}' was not found.\""
            )
            raise _ProviderError(msg)
        # A provider for another subscription (amlRegistrySubscriptionId) reads there; the default one here.
        subscription = self.provider_subscriptions.get(provider.rsplit("::", 1)[-1], self.subscription_id)
        resource_id = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/registries/{name}"
        return {
            "id": resource_id,
            "name": name,
            "regionDetails": mock_registry_region_details(subscription, group, name, "westeurope"),
        }

    def _get_workspace(self, args: Mapping[str, Any]) -> Any:
        """The deployed workspace the run was given, or ARM's 404 when there is none (a new stack)."""
        if self.deployed_workspace is None:
            group = args["resourceGroupName"]
            reason = f'Status=404 Code="ResourceGroupNotFound" Message="Resource group \'{group}\' could not be found."'
            return {}, [("resourceGroupName", reason)]
        return {"name": args["workspaceName"], **self.deployed_workspace}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what mocks never see: parents, `protect`, retain-on-delete, and
    dependencies."""

    def __init__(self, mocks: _AzureMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[tuple[str, str, str, bool, bool, bool, tuple[str, ...]]] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                (
                    request.type,
                    request.name,
                    request.parent,
                    bool(request.protect),
                    bool(request.custom),
                    bool(request.retainOnDelete),
                    tuple(sorted({name for urn in request.dependencies if (name := _logical_name(urn))})),
                )
            )
        return response


def _logical_name(urn: str) -> str | None:
    if not urn or urn.split("::")[2] == "pulumi:pulumi:Stack":
        return None
    return urn.split("::")[-1]


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then as it was.

    A run allocates hundreds of thousands of futures and closures that stay alive until it ends, so the collector
    re-scans them again and again for nothing: it took about two thirds of a prod plan's CPU time. What the run
    leaves behind is collected by the next automatic collection after the block.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_program(
    stack: str,
    config: Mapping[str, str],
    *,
    subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
    into: Plan | None = None,
    aml_registry_exists: bool = True,
    deployed_workspace: Mapping[str, Any] | None = None,
    validated: StackConfig | None = None,
) -> Plan:
    """Run the stack program for `stack` with `config` ("<namespace>:<key>" -> string) and record it.

    Resources are recorded into `into` (a new Plan by default) as they register, so a caller can see
    what was declared even when the program raises, e.g. InvalidStackConfig before any resource.
    `aml_registry_exists` False answers `getRegistry` with Azure's 404: a consumer stack's first `pulumi up`,
    before the owner stack has created the registry.
    `deployed_workspace` is the workspace Azure answers the program's GET with (wire names, e.g.
    {"managedNetwork": {"isolationMode": ...}}); None answers 404, as for a stack never deployed.
    `validated` is `config` already parsed (`parse_stack_config(project_config_values(config))`, as the gate does
    for every stack before anything runs): the program is built from it instead of parsing `config` again.
    """
    from infra.program import build, load_stack_config

    mocks = _AzureMocks(
        subscription_id,
        DEFAULT_TENANT_ID,
        aml_registry_exists=aml_registry_exists,
        deployed_workspace=deployed_workspace,
    )
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(dict(config))
    # A fresh root stack per run: runs of several stacks in one process must not share a root resource.
    set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    def program() -> Awaitable[dict[str, Any]]:
        build(validated if validated is not None else load_stack_config())
        # `pulumi.export` collects outputs on the root stack: resolve them all before the run ends.
        exported = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]
        return pulumi.Output.from_input(exported).future()  # type: ignore[return-value]

    plan = into if into is not None else Plan(stack=stack)
    plan.config.update(config)
    take_recorded()  # a run that raised earlier may have left waivers behind

    async def run() -> None:
        plan.outputs.update(await program() or {})

    try:
        with cycle_collection_paused():
            _sync_await(pulumi_mocks.run_pulumi_func(run))
    finally:
        plan.waivers.extend(take_recorded())
        for token, name, parent, protect, custom, retain, dependencies in monitor.registrations:
            plan.resources.append(
                PlannedResource(
                    type=token,
                    name=name,
                    parent=_logical_name(parent),
                    inputs=mocks.inputs.get((token, name), {}),
                    protect=protect,
                    custom=custom,
                    resource_id=mocks.ids.get((token, name)),
                    retain_on_delete=retain,
                    dependencies=dependencies,
                )
            )
    return plan
