"""How each Pulumi resource token maps onto its Azure Resource Manager type, resource ID and wire shape.

The mock engine derives realistic ARM IDs from this table, so that references between resources
can be asserted (the workspace's `storageAccount` input equals the storage account's ID), and the
ARM model (arm_model.py) takes each type's API version, top-level keys and SDK-to-wire renames from
it. A token missing here stops the plan: a new resource type must be mapped, never guessed.

API versions are the azure-native 3.29 defaults; top-level keys and renames, nested ones included, are checked
against the Azure/azure-resource-manager-schemas files of those versions (the names vendored in
tests/policy/fixtures/arm_schema_names.json, compared at every depth by tests/policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.errors import PlanError


@dataclass(frozen=True)
class ArmResourceType:
    """An ARM resource type and where its name segments come from in the wire inputs."""

    arm_type: str
    """Full ARM type, e.g. Microsoft.Storage/storageAccounts/blobServices/containers."""
    name_segments: tuple[str, ...]
    """One per type segment after the namespace: a wire input name, or `=literal` for a fixed segment."""
    api_version: str
    """The API version azure-native 3.29 calls for this type by default."""
    top_level: frozenset[str] = frozenset({"location", "tags"})
    """Wire inputs that ARM keeps beside `properties` (location, tags, sku, kind, identity ...)."""
    renames: Mapping[str, str] = field(default_factory=dict)
    """SDK wire name -> ARM name, where azure-native's flattened input differs from the ARM property."""
    nested_sub_resources: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Dotted path of a nested object under `properties` that azure-native flattens -> the keys ARM keeps beside
    its `properties` (a discriminator such as `endpointType`); the model nests the other keys back."""
    nested_renames: Mapping[str, str] = field(default_factory=dict)
    """Dotted path of a nested SDK name under `properties` (lists are crossed) -> its ARM name, e.g. the
    metric alert criteria's `odataType`, which ARM spells `odata.type`."""
    nested_properties: bool = False
    """True where azure-native keeps ARM's `properties` object as an input instead of flattening it."""
    sub_resources: tuple[str, ...] = ()
    """Inputs holding sub-resources (a VNet's subnets, an NSG's rules) that azure-native flattens too: the
    ARM model nests each one's settings back under its own `properties`, beside its `name` and `id`."""
    scope_input: str | None = None
    """Extension resources (role assignments): the input holding the ID of the resource they attach to."""
    properties_object: bool = True
    """False for a type whose ARM schema has no `properties` (a user-assigned identity): the model then writes
    none when no input goes there."""

    def name(self, inputs: Mapping[str, Any]) -> str:
        """The ARM name: child resources are named `parent/child`."""
        return "/".join(self._segment(s, inputs) for s in self.name_segments)

    def resource_id(self, inputs: Mapping[str, Any], subscription_id: str) -> str:
        """The ARM resource ID the resource will have in Azure."""
        namespace, *types = self.arm_type.split("/")
        if namespace == "Microsoft.Resources" and types == ["resourceGroups"]:
            return f"/subscriptions/{subscription_id}/resourceGroups/{self.name(inputs)}"
        if self.scope_input is not None:
            scope = str(inputs[self.scope_input])
        else:
            scope = f"/subscriptions/{subscription_id}/resourceGroups/{inputs['resourceGroupName']}"
        path = "/".join(
            f"{kind}/{self._segment(seg, inputs)}"
            for kind, seg in zip(types, self.name_segments, strict=True)
        )
        return f"{scope}/providers/{namespace}/{path}"

    @staticmethod
    def _segment(segment: str, inputs: Mapping[str, Any]) -> str:
        if segment.startswith("="):
            return segment[1:]
        return str(inputs[segment])


_TRACKED = frozenset({"location", "tags"})
_WITH_SKU = _TRACKED | {"sku"}
_WITH_IDENTITY = _TRACKED | {"identity"}

ARM_RESOURCE_TYPES: dict[str, ArmResourceType] = {
    "azure-native:resources:ResourceGroup": ArmResourceType(
        "Microsoft.Resources/resourceGroups", ("resourceGroupName",), "2024-03-01"
    ),
    # Log Analytics keeps its SKU inside `properties`.
    "azure-native:operationalinsights:Workspace": ArmResourceType(
        "Microsoft.OperationalInsights/workspaces", ("workspaceName",), "2023-09-01", _WITH_IDENTITY
    ),
    # App Insights' ARM properties are PascalCase or snake-ish (Application_Type); the SDK camel-cases them.
    "azure-native:applicationinsights:Component": ArmResourceType(
        "Microsoft.Insights/components",
        ("resourceName",),
        "2020-02-02",
        _TRACKED | {"kind"},
        renames={
            "applicationType": "Application_Type",
            "disableIpMasking": "DisableIpMasking",
            "disableLocalAuth": "DisableLocalAuth",
            "flowType": "Flow_Type",
            "forceCustomerStorageForProfiler": "ForceCustomerStorageForProfiler",
            "hockeyAppId": "HockeyAppId",
            "immediatePurgeDataOn30Days": "ImmediatePurgeDataOn30Days",
            "ingestionMode": "IngestionMode",
            "requestSource": "Request_Source",
            "retentionInDays": "RetentionInDays",
            "samplingPercentage": "SamplingPercentage",
            "workspaceResourceId": "WorkspaceResourceId",
        },
    ),
    "azure-native:storage:StorageAccount": ArmResourceType(
        "Microsoft.Storage/storageAccounts",
        ("accountName",),
        "2024-01-01",
        _WITH_SKU | {"kind", "identity", "extendedLocation"},
        renames={"enableHttpsTrafficOnly": "supportsHttpsTrafficOnly", "networkRuleSet": "networkAcls"},
    ),
    "azure-native:storage:BlobServiceProperties": ArmResourceType(
        "Microsoft.Storage/storageAccounts/blobServices",
        ("accountName", "blobServicesName"),
        "2024-01-01",
        frozenset(),
    ),
    "azure-native:storage:FileServiceProperties": ArmResourceType(
        "Microsoft.Storage/storageAccounts/fileServices",
        ("accountName", "fileServicesName"),
        "2024-01-01",
        frozenset(),
    ),
    "azure-native:storage:BlobContainer": ArmResourceType(
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        ("accountName", "=default", "containerName"),
        "2024-01-01",
        frozenset(),
    ),
    "azure-native:keyvault:Vault": ArmResourceType(
        "Microsoft.KeyVault/vaults", ("vaultName",), "2024-11-01", nested_properties=True
    ),
    "azure-native:keyvault:Key": ArmResourceType(
        "Microsoft.KeyVault/vaults/keys", ("vaultName", "keyName"), "2024-11-01", nested_properties=True
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ArmResourceType(
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        ("resourceName",),
        "2023-01-31",
        properties_object=False,
    ),
    "azure-native:containerregistry:Registry": ArmResourceType(
        "Microsoft.ContainerRegistry/registries",
        ("registryName",),
        "2023-01-01-preview",
        _WITH_SKU | {"identity"},
    ),
    "azure-native:machinelearningservices:Workspace": ArmResourceType(
        "Microsoft.MachineLearningServices/workspaces",
        ("workspaceName",),
        "2025-12-01",
        _WITH_SKU | {"kind", "identity"},
    ),
    "azure-native:machinelearningservices:Datastore": ArmResourceType(
        "Microsoft.MachineLearningServices/workspaces/datastores",
        ("workspaceName", "name"),
        "2025-12-01",
        frozenset(),
        nested_properties=True,
    ),
    "azure-native:machinelearningservices:Compute": ArmResourceType(
        "Microsoft.MachineLearningServices/workspaces/computes",
        ("workspaceName", "computeName"),
        "2025-12-01",
        _WITH_SKU | {"identity"},
        nested_properties=True,
    ),
    "azure-native:databricks:Workspace": ArmResourceType(
        "Microsoft.Databricks/workspaces", ("workspaceName",), "2026-01-01", _WITH_SKU
    ),
    "azure-native:machinelearningservices:Registry": ArmResourceType(
        "Microsoft.MachineLearningServices/registries",
        ("registryName",),
        "2025-12-01",
        _WITH_SKU | {"kind", "identity"},
    ),
    "azure-native:network:VirtualNetwork": ArmResourceType(
        "Microsoft.Network/virtualNetworks",
        ("virtualNetworkName",),
        "2024-05-01",
        sub_resources=("subnets",),
        nested_sub_resources={"subnets.properties.delegations": frozenset({"name", "id", "type", "etag"})},
    ),
    "azure-native:network:NetworkSecurityGroup": ArmResourceType(
        "Microsoft.Network/networkSecurityGroups",
        ("networkSecurityGroupName",),
        "2024-05-01",
        sub_resources=("securityRules",),
    ),
    "azure-native:network:NatGateway": ArmResourceType(
        "Microsoft.Network/natGateways", ("natGatewayName",), "2024-05-01", _WITH_SKU | {"zones"}
    ),
    "azure-native:network:PublicIPAddress": ArmResourceType(
        "Microsoft.Network/publicIPAddresses", ("publicIpAddressName",), "2024-05-01", _WITH_SKU | {"zones"}
    ),
    # The agents' egress firewall (infra/components/egress_firewall.py): ARM keeps both SKUs under `properties`.
    "azure-native:network:AzureFirewall": ArmResourceType(
        "Microsoft.Network/azureFirewalls",
        ("azureFirewallName",),
        "2024-05-01",
        _TRACKED | {"zones"},
        sub_resources=("ipConfigurations", "managementIpConfiguration"),
    ),
    "azure-native:network:FirewallPolicy": ArmResourceType(
        "Microsoft.Network/firewallPolicies", ("firewallPolicyName",), "2024-05-01", _WITH_IDENTITY
    ),
    "azure-native:network:FirewallPolicyRuleCollectionGroup": ArmResourceType(
        "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
        ("firewallPolicyName", "ruleCollectionGroupName"),
        "2024-05-01",
        frozenset(),
    ),
    "azure-native:network:RouteTable": ArmResourceType(
        "Microsoft.Network/routeTables", ("routeTableName",), "2024-05-01", sub_resources=("routes",)
    ),
    "azure-native:network:Route": ArmResourceType(
        "Microsoft.Network/routeTables/routes", ("routeTableName", "routeName"), "2024-05-01", frozenset()
    ),
    "azure-native:network:PrivateEndpoint": ArmResourceType(
        "Microsoft.Network/privateEndpoints",
        ("privateEndpointName",),
        "2024-05-01",
        sub_resources=("privateLinkServiceConnections", "subnet"),
    ),
    "azure-native:network:PrivateDnsZoneGroup": ArmResourceType(
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        ("privateEndpointName", "privateDnsZoneGroupName"),
        "2024-05-01",
        frozenset(),
        sub_resources=("privateDnsZoneConfigs",),
    ),
    "azure-native:privatedns:PrivateZone": ArmResourceType(
        "Microsoft.Network/privateDnsZones", ("privateZoneName",), "2024-06-01"
    ),
    "azure-native:privatedns:VirtualNetworkLink": ArmResourceType(
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        ("privateZoneName", "virtualNetworkLinkName"),
        "2024-06-01",
    ),
    "azure-native:monitor:ActionGroup": ArmResourceType(
        "Microsoft.Insights/actionGroups", ("actionGroupName",), "2024-10-01-preview"
    ),
    "azure-native:monitor:DiagnosticSetting": ArmResourceType(
        "Microsoft.Insights/diagnosticSettings",
        ("name",),
        "2021-05-01-preview",
        frozenset(),
        scope_input="resourceUri",
    ),
    "azure-native:consumption:Budget": ArmResourceType(
        "Microsoft.Consumption/budgets", ("budgetName",), "2024-08-01", frozenset(), scope_input="scope"
    ),
    "azure-native:authorization:ManagementLockByScope": ArmResourceType(
        "Microsoft.Authorization/locks", ("lockName",), "2020-05-01", frozenset(), scope_input="scope"
    ),
    "azure-native:storage:Table": ArmResourceType(
        "Microsoft.Storage/storageAccounts/tableServices/tables",
        ("accountName", "=default", "tableName"),
        "2024-01-01",
        frozenset(),
    ),
    "azure-native:storage:Queue": ArmResourceType(
        "Microsoft.Storage/storageAccounts/queueServices/queues",
        ("accountName", "=default", "queueName"),
        "2024-01-01",
        frozenset(),
    ),
    "azure-native:web:AppServicePlan": ArmResourceType(
        "Microsoft.Web/serverfarms", ("name",), "2025-05-01", _WITH_SKU | {"kind"}
    ),
    "azure-native:web:WebApp": ArmResourceType(
        "Microsoft.Web/sites", ("name",), "2025-05-01", _WITH_IDENTITY | {"kind"}
    ),
    "azure-native:web:WebAppFtpAllowed": ArmResourceType(
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies", ("name", "=ftp"), "2025-05-01", frozenset()
    ),
    "azure-native:web:WebAppScmAllowed": ArmResourceType(
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies", ("name", "=scm"), "2025-05-01", frozenset()
    ),
    "azure-native:eventgrid:SystemTopic": ArmResourceType(
        "Microsoft.EventGrid/systemTopics", ("systemTopicName",), "2025-02-15", _WITH_IDENTITY
    ),
    "azure-native:eventgrid:SystemTopicEventSubscription": ArmResourceType(
        "Microsoft.EventGrid/systemTopics/eventSubscriptions",
        ("systemTopicName", "eventSubscriptionName"),
        "2025-02-15",
        frozenset(),
        nested_sub_resources={
            path: frozenset({"endpointType"})
            for path in (
                "destination",
                "deadLetterDestination",
                "deliveryWithResourceIdentity.destination",
                "deadLetterWithResourceIdentity.deadLetterDestination",
            )
        },
    ),
    "azure-native:monitor:MetricAlert": ArmResourceType(
        "Microsoft.Insights/metricAlerts",
        ("ruleName",),
        "2018-03-01",
        nested_renames={"criteria.odataType": "odata.type"},
    ),
    "azure-native:monitor:ScheduledQueryRule": ArmResourceType(
        "Microsoft.Insights/scheduledQueryRules",
        ("ruleName",),
        "2025-01-01-preview",
        _TRACKED | {"kind", "identity"},
    ),
    "azure-native:devcenter:DevCenter": ArmResourceType(
        "Microsoft.DevCenter/devcenters", ("devCenterName",), "2024-02-01", _WITH_IDENTITY
    ),
    "azure-native:devcenter:Project": ArmResourceType(
        "Microsoft.DevCenter/projects", ("projectName",), "2024-02-01", _WITH_IDENTITY
    ),
    "azure-native:devopsinfrastructure:Pool": ArmResourceType(
        "Microsoft.DevOpsInfrastructure/pools", ("poolName",), "2025-01-21", _WITH_IDENTITY
    ),
    # Self-hosted GitHub runners as a Container Apps job (infra/components/github_runners_container_apps.py).
    "azure-native:app:ManagedEnvironment": ArmResourceType(
        "Microsoft.App/managedEnvironments",
        ("environmentName",),
        "2025-02-02-preview",
        _WITH_IDENTITY | {"kind"},
    ),
    "azure-native:app:Job": ArmResourceType(
        "Microsoft.App/jobs", ("jobName",), "2025-02-02-preview", _WITH_IDENTITY | {"extendedLocation"}
    ),
    # A deployment carrying a nested template: how the GitHub.Network/networkSettings resource, which azure-native
    # has no type for, is declared (infra/components/github_runners.py).
    "azure-native:resources:Deployment": ArmResourceType(
        "Microsoft.Resources/deployments",
        ("deploymentName",),
        "2024-03-01",
        frozenset({"tags"}),
        nested_properties=True,
    ),
    "azure-native:authorization:RoleAssignment": ArmResourceType(
        "Microsoft.Authorization/roleAssignments",
        ("roleAssignmentName",),
        "2022-04-01",
        frozenset(),
        scope_input="scope",
    ),
}


NON_ARM_PREFIXES: tuple[str, ...] = ("databricks:", "pulumi:providers:")
"""Tokens of resources that are not Azure resources: objects inside a Databricks workspace (pulumi-databricks
calls the workspace's REST API, not ARM) and provider instances. The plan records them, the ARM model leaves
them out on purpose, and checkov never sees them."""


def is_arm_token(token: str) -> bool:
    """False for the tokens NON_ARM_PREFIXES names: they have no ARM type, and need none."""
    return not token.startswith(NON_ARM_PREFIXES)


def arm_resource_type(token: str) -> ArmResourceType:
    """The mapping for `token`; raises PlanError for a token nobody has mapped yet."""
    try:
        return ARM_RESOURCE_TYPES[token]
    except KeyError as err:
        msg = f"resource type {token!r} has no ARM mapping: add it to infra/plan/arm_types.py"
        raise PlanError(msg) from err
