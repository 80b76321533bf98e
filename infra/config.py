"""The stack configuration: one typed model, read once and validated before any resource is declared.

Keys are the camelCase names users set with `pulumi config set <key> <value>` and declare in
`Pulumi.yaml`; a test keeps the two in step. Secure defaults live here, so a stack file only says
what differs (a cheaper dev, a private prod).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from infra.errors import InvalidStackConfig
from infra.gpu_sizes import gpus_per_node
from infra.regions import GITHUB_PRIVATE_NETWORKING_REGIONS, SUPPORTED_REGIONS
from infra.stack_rules import customer_managed_key_problems, production_grade_problems

PROJECT = "azure-mlops"
"""The Pulumi project name: the namespace of every configuration key."""
LIFECYCLE_MAX_VNET_PREFIX = 21
"""Lifecycle events in a private stack take the VNet's fifth /24 (infra/private_profile.py): a /21 at least."""
AGENTS_MAX_VNET_PREFIX = 21
"""A private stack's build agents take the VNet's sixth /24 (infra/private_profile.py): a /21 at least."""
AGENT_FIREWALL_MAX_VNET_PREFIX = 20
"""The agents' egress firewall takes the VNet's ninth /24 (infra/agent_egress.py): a /20 at least."""


def _supported_region(value: str) -> str:
    if value not in SUPPORTED_REGIONS:
        msg = f"must be one of the supported regions {list(SUPPORTED_REGIONS)}"
        raise ValueError(msg)
    return value


def _known_gpu_size(value: str | None) -> str | None:
    """A GPU cluster size must be one whose GPUs per node are known (infra/gpu_sizes.py)."""
    if value is not None:
        gpus_per_node(value)  # raises ValueError naming the sizes accepted
    return value


def _empty_is_unset(value: Any) -> Any:
    """Pulumi.yaml declares optional keys with the default "": read it as unset."""
    return None if value == "" else value


def _number_as_text(value: Any) -> Any:
    """A stack file may write a numeric ID unquoted (YAML reads an int); Pulumi hands it over as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _empty_is_unset(value)


def _private_vnet_range(value: str) -> str:
    try:
        network = ipaddress.ip_network(value)
    except ValueError as err:
        msg = "must be an IPv4 network in CIDR form, e.g. 10.40.0.0/16"
        raise ValueError(msg) from err
    if network.version != 4 or not network.is_private:
        msg = "must be a private IPv4 range (10/8, 172.16/12 or 192.168/16)"
        raise ValueError(msg)
    if not 16 <= network.prefixlen <= 22:
        msg = "must have a prefix from /16 to /22, room for the /24 subnets"
        raise ValueError(msg)
    return str(network)


def _single_hyphens(value: str) -> str:
    if "--" in value:
        msg = "must not contain consecutive hyphens"
        raise ValueError(msg)
    return value


def _no_repeats(values: tuple[str, ...]) -> tuple[str, ...]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        msg = f"must not repeat entries; repeated: {duplicates}"
        raise ValueError(msg)
    return values


def _non_empty_unique(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        msg = "must list at least one entry"
        raise ValueError(msg)
    return _no_repeats(values)


ObjectId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", to_lower=True
    ),
]
"""A Microsoft Entra object ID (a GUID)."""

VmSize = Annotated[str, StringConstraints(pattern=r"^Standard_[A-Za-z0-9_]{2,40}$")]
"""An Azure VM size such as Standard_DS3_v2."""

ContainerName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"), AfterValidator(_single_hyphens)
]
"""A blob container (file system) name: 3-63 lower-case letters, digits and single hyphens."""

Region = Annotated[str, AfterValidator(_supported_region)]

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
"""An e-mail address."""

SparkVersion = Annotated[
    str, StringConstraints(pattern=r"^\d{1,2}\.\d{1,2}\.x-(?:cpu-ml-|gpu-ml-)?scala2\.1[23]$")
]
"""A pinned Databricks Runtime version key such as 17.3.x-cpu-ml-scala2.13 (never `latest`)."""

PackageName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,49}$")]
"""A Python package name as the project template generates it: lower-case letters, digits and _."""

TableName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}(\.[A-Za-z_][A-Za-z0-9_]{0,254}){1,2}$")
]
"""A Spark table as schema.table or catalog.schema.table (letters, digits and _ in each part)."""

SecretName = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,127}$")]
"""A Key Vault secret name: 1-127 letters, digits and hyphens."""

AzureDevOpsOrganizationUrl = Annotated[
    str, StringConstraints(pattern=r"^https://dev\.azure\.com/[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")
]
"""An Azure DevOps organization URL, https://dev.azure.com/<organization> (no trailing slash)."""

AzureDevOpsProject = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")]
GitHubDatabaseId = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,19}$")]
"""A GitHub organization's or enterprise's database ID (GraphQL `databaseId`): a positive integer, as text."""
GitHubRunnerGroup = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
"""Our rule for the runner group name workflows select (`runs-on: {group: ...}`): 1-64 letters, digits, '.', '_',
'-', no spaces, so the name reads the same in YAML, JSON and the GitHub UI."""
GitHubRunnerUrl = Annotated[
    str,
    StringConstraints(
        pattern=r"^https://github\.com/[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9._-]{1,100})?$"
    ),
]
"""Where self-hosted runners register: https://github.com/<organization> or https://github.com/<owner>/<repo>
(GitHub.com; no trailing slash)."""
GitHubRunnersMode = Literal["none", "private-networking", "container-apps"]
"""How a private stack's GitHub Actions jobs get into its VNet (docs/github-runners.md)."""
"""An Azure DevOps project name."""

StorageSku = Literal[
    "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_GZRS", "Standard_RAGRS", "Standard_RAGZRS"
]


class StackConfig(BaseModel):
    """Every configuration key of a stack, with its type, default and rule.

    Field docstrings are the descriptions shown in `Pulumi.yaml` and the README's key table.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    environment: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,7}$")]
    """Required. Environment name used in resource names and tags (dev, staging, prod, pr42 ...):
    2-8 lower-case letters and digits, starting with a letter."""

    owner: Annotated[str, StringConstraints(min_length=2, max_length=64, pattern=r"^[\w.@+-]+$")]
    """Required. Owning team or e-mail address, written to the `owner` tag."""

    cost_center: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,31}$")]
    """Required. Cost center code, written to the `cost-center` tag: 2-32 letters, digits or hyphens."""

    location: Region = "westeurope"
    """Optional. Azure region for every resource; one of the supported regions."""

    workload: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,9}$")] = "mlops"
    """Optional. Short workload name used in resource names: 2-10 lower-case letters and digits."""

    network_profile: Literal["public", "private"] = "private"
    """Optional. `private` disables public network access on the workspace and its dependencies;
    `public` keeps them reachable (cheap dev stacks). Prod must be private."""

    managed_network_isolation: Literal["Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound"] = (
        "AllowOnlyApprovedOutbound"
    )
    """Optional. Isolation mode of the workspace's managed virtual network. Azure only lets it tighten
    (Disabled, then AllowInternetOutbound, then AllowOnlyApprovedOutbound): a step back on a deployed workspace
    is refused. Prod must be AllowOnlyApprovedOutbound."""

    storage_sku: StorageSku = "Standard_ZRS"
    """Optional. Replication SKU of both storage accounts."""

    container_registry_sku: Literal["Basic", "Standard", "Premium"] = "Premium"
    """Optional. Container registry SKU; Premium is required for private link."""

    key_vault_sku: Literal["standard", "premium"] = "standard"
    """Optional. Key Vault SKU; premium adds HSM-backed keys."""

    log_retention_days: int = Field(default=90, ge=30, le=730)
    """Optional. Log Analytics retention in days (30-730)."""

    soft_delete_retention_days: int = Field(default=30, ge=7, le=90)
    """Optional. Days that deleted blobs, containers and key vault objects stay recoverable (7-90)."""

    cpu_cluster_vm_size: VmSize = "Standard_DS3_v2"
    """Optional. VM size of the CPU training cluster."""

    cpu_cluster_min_nodes: int = Field(default=0, ge=0, le=100)
    """Optional. Minimum nodes of the CPU cluster; above 0 only where environment is prod."""

    cpu_cluster_max_nodes: int = Field(default=4, ge=1, le=100)
    """Optional. Maximum nodes of the CPU cluster (1-100, not below the minimum)."""

    cpu_cluster_idle_seconds: int = Field(default=900, ge=60, le=86400)
    """Optional. Seconds an idle node waits before the cluster scales down (60-86400)."""

    cpu_cluster_low_priority: bool = False
    """Optional. Use low-priority (evictable, cheaper) VMs for the CPU cluster."""

    gpu_cluster_vm_size: Annotated[
        VmSize | None, BeforeValidator(_empty_is_unset), AfterValidator(_known_gpu_size)
    ] = None
    """Optional. VM size of a GPU cluster (one of infra/gpu_sizes.py); the cluster exists only when this is set."""

    gpu_cluster_max_nodes: int = Field(default=2, ge=1, le=50)
    """Conditional. Maximum nodes of the GPU cluster (1-50); used when gpuClusterVmSize is set."""

    compute_instance_users: Annotated[tuple[ObjectId, ...], AfterValidator(_no_repeats)] = ()
    """Optional. Entra object IDs of users who each get a personal compute instance."""

    compute_instance_vm_size: VmSize = "Standard_DS11_v2"
    """Conditional. VM size of the personal compute instances; used when computeInstanceUsers is set."""

    compute_instance_idle_minutes: int = Field(default=60, ge=15, le=4320)
    """Conditional. Minutes of inactivity before a compute instance shuts down (15-4320)."""

    data_scientist_group_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = None
    """Optional. Entra group granted AzureML Data Scientist on the workspace and data access."""

    deployer_principal_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = None
    """Optional. Service principal of CI/CD (workload identity federation) that runs jobs and deploys."""

    data_lake_containers: Annotated[tuple[ContainerName, ...], AfterValidator(_non_empty_unique)] = Field(
        default=("raw", "curated"), max_length=10
    )
    """Optional. File systems of the data lake; each gets an identity-based datastore."""

    create_aml_registry: bool = False
    """Optional. Create the Azure ML registry shared by all stacks (models are promoted through it, never
    retrained); set it in exactly one stack, the one that lives longest (prod)."""

    aml_registry_owner_stack: Annotated[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")] | None,
        BeforeValidator(_empty_is_unset),
    ] = None
    """Optional. The stack that owns the Azure ML registry this stack promotes models through (the one with
    createAmlRegistry: true, e.g. prod): the registry's name and ID are derived from that stack's committed
    Pulumi.<stack>.yaml, and the owner grants this stack's deployerPrincipalId AzureML Registry User and its
    workspace the approval of its managed private endpoints to the registry's storage and ACR
    (infra/registry_approval.py). Not with createAmlRegistry."""

    aml_registry_subscription_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Subscription of the owner stack when it is not this stack's; used with
    amlRegistryOwnerStack (the registry's name depends on its owner's subscription)."""

    aml_registry_user_ids: Annotated[tuple[ObjectId, ...], AfterValidator(_no_repeats)] = ()
    """Conditional. Principals outside this project's committed stacks granted AzureML Registry User on the
    registry (the deployers of the stacks naming this one in amlRegistryOwnerStack are granted without being
    listed); used when createAmlRegistry is true."""

    vnet_address_space: Annotated[str, AfterValidator(_private_vnet_range)] = "10.40.0.0/16"
    """Conditional. Private IPv4 range of the VNet; used when networkProfile is private, where it must be a /16
    to /21 (the build agents' subnet is its sixth /24). Give every stack its own range: VNets with overlapping
    ranges can never be peered. The committed stacks take 10.41-10.43.0.0/16; the default 10.40.0.0/16 is free
    for one new stack."""

    monthly_budget_usd: int = Field(default=0, ge=0, le=10_000_000)
    """Optional. Monthly cost budget of the resource group in USD; 0 means no budget and no alerts."""

    alert_emails: Annotated[tuple[Email, ...], AfterValidator(_no_repeats)] = ()
    """Conditional. Addresses alerted at 80% and 100% of the budget and at a 110% forecast; at least one
    is required when monthlyBudgetUsd is set."""

    protect_stateful_resources: bool = True
    """Optional. Mark storage, key vault, registry and workspace `protect` and retain-on-delete, and lock
    the data stores against deletion, so that neither `pulumi destroy` nor a portal click deletes data. Prod
    must keep it true."""

    name_generation: int = Field(default=0, ge=0, le=9999)
    """Optional. Bump (e.g. to 1) to rebuild a destroyed stack the same day: Azure keeps the names of a deleted
    key vault (7-90 days, purge protection) and Azure ML workspace (14 days, with its compute instances)
    reserved, so those names carry the generation when it is above 0. On a live stack a change replaces
    them, which Pulumi refuses for protected ones (protectStatefulResources). See docs/stack-lifecycle.md."""

    workspace_customer_managed_key: bool = False
    """Optional. Encrypt the Azure ML workspace's data with a key in the stack's key vault (customer-managed
    key, high business impact workspace), read by a user-assigned identity that may only wrap and unwrap
    with it. Fixed at workspace creation: turning it on or off later is refused. Needs
    protectStatefulResources; Azure then bills the Cosmos DB, AI Search and storage it creates for the
    encrypted data in a Microsoft-managed resource group."""

    databricks_enabled: bool = False
    """Optional. Create an Azure Databricks workspace linked to the AML workspace, with a cluster policy, a Key
    Vault-backed secret scope and a training job that tracks to the AML workspace."""

    databricks_node_types: Annotated[tuple[VmSize, ...], AfterValidator(_non_empty_unique)] = Field(
        default=("Standard_D4ds_v5", "Standard_D8ds_v5"), max_length=10
    )
    """Conditional. VM sizes the cluster policy allows; the training job uses the first. Used when
    databricksEnabled is true."""

    databricks_spark_version: SparkVersion = "17.3.x-cpu-ml-scala2.13"
    """Conditional. Databricks Runtime every policy cluster runs, pinned (17.3 LTS ML: Spark 4.0, MLflow
    preinstalled). Used when databricksEnabled is true."""

    databricks_auto_termination_minutes: int = Field(default=30, ge=10, le=120)
    """Conditional. Minutes before an idle interactive cluster terminates (10-120; job clusters end with
    their run). Used when databricksEnabled is true."""

    databricks_max_workers: int = Field(default=4, ge=1, le=50)
    """Conditional. Most workers a policy cluster may autoscale to (1-50). Used when databricksEnabled is
    true."""

    databricks_job_package: Annotated[PackageName | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Python package of the generated MLflow project the training job runs (the template's
    `package_name`); its bundle deploys to /Workspace/Shared/azure-mlops/<package>. Required when
    databricksEnabled is true."""

    databricks_training_table: Annotated[TableName | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Table the training job reads with Spark (catalog.schema.table, or schema.table in the
    workspace's default catalog); the job's principal needs SELECT on it. Required when databricksEnabled
    is true."""

    databricks_job_client_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Application (client) ID of the service principal the training job runs as and logs to
    the AML workspace with. Required when databricksEnabled is true."""

    databricks_job_principal_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Object ID of that service principal: the role assignments name it. Required when
    databricksEnabled is true."""

    databricks_job_secret_name: SecretName = "databricks-job-client-secret"
    """Conditional. Key Vault secret holding that service principal's client secret (set by its owner,
    never by Pulumi); the job reads it through the secret scope. Used when databricksEnabled is true."""

    azure_databricks_principal_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Object ID, in this tenant, of the AzureDatabricks first-party application (app ID
    2ff814a6-3304-4ab8-85cb-cd0e6f879c1d): the Key Vault-backed secret scope reads the RBAC vault as this
    identity. Required when databricksEnabled is true."""

    lifecycle_events_enabled: bool = False
    """Optional. Subscribe to the workspace's lifecycle events (model registered and deployed, failed runs,
    model monitor threshold breaches) with Event Grid, queue them in a storage queue, and handle them in a
    serverless function that audits each one, queues retraining on breaches and notifies on failures. With
    networkProfile private the handler joins the VNet (its own /24, so vnetAddressSpace must be a /21 or
    larger), its app has no public endpoint, and it reaches its storage and queue through private endpoints."""

    retrain_pipeline_id: int = Field(default=0, ge=0, le=2_147_483_647)
    """Conditional. Azure Pipelines definition ID of the retraining pipeline that monitor breaches queue;
    0 means breaches are audited and notified but nothing is queued. Needs azureDevOpsOrganization and
    azureDevOpsProject."""

    azure_devops_organization: Annotated[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")] | None,
        BeforeValidator(_empty_is_unset),
    ] = Field(default=None, alias="azureDevOpsOrganization")
    """Conditional. Azure DevOps organization name (dev.azure.com/<name>) of the retraining pipeline; a
    name, not a credential: the handler authenticates with its managed identity."""

    azure_devops_project: Annotated[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")] | None,
        BeforeValidator(_empty_is_unset),
    ] = Field(default=None, alias="azureDevOpsProject")
    """Conditional. Azure DevOps project name of the retraining pipeline."""

    notification_webhook_secret_name: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,127}$")] = (
        "lifecycle-notification-webhook"
    )
    """Conditional. Name of the stack key vault's secret holding the Teams or Slack incoming webhook URL that
    failure notifications go to; the handler reads it through a Key Vault reference, never from config."""

    agent_pool_organization_url: Annotated[
        AzureDevOpsOrganizationUrl | None, BeforeValidator(_empty_is_unset)
    ] = None
    """Conditional. Azure DevOps organization (https://dev.azure.com/<organization>) the private profile's
    Managed DevOps Pool serves: its build agents run inside the VNet and run every pipeline job that touches
    the stack's data plane. Required when networkProfile is private."""

    agent_pool_projects: Annotated[tuple[AzureDevOpsProject, ...], AfterValidator(_no_repeats)] = Field(
        default=(), max_length=20
    )
    """Conditional. Azure DevOps projects of that organization allowed to use the pool (no open access to the
    whole organization). At least one is required when networkProfile is private."""

    agent_pool_max_agents: int = Field(default=2, ge=1, le=50)
    """Conditional. Most build agents (VMs) the pool runs at once (1-50); each takes one address of its /24.
    Used when networkProfile is private."""

    agent_pool_vm_size: VmSize = "Standard_D2ads_v5"
    """Conditional. VM size of the pool's build agents. Used when networkProfile is private."""

    dev_ops_infrastructure_principal_id: Annotated[ObjectId | None, BeforeValidator(_empty_is_unset)] = Field(
        default=None, alias="devOpsInfrastructurePrincipalId"
    )
    """Conditional. Object ID, in this tenant, of the DevOpsInfrastructure service principal (Managed DevOps
    Pools' first-party application): it gets Reader and Network Contributor on the VNet to join the pool's agents
    to their subnet. Required when networkProfile is private."""

    agent_egress: Literal["firewall", "nat"] = "firewall"
    """Conditional. How a private stack's build agents, and its GitHub runner jobs (githubRunners: container-apps),
    reach what they need outside the VNet. `firewall` (the default): an Azure Firewall Basic in the VNet lets each
    subnet through only the hosts its needs are documented by: Managed DevOps Pools, Azure DevOps, Entra ID, ARM,
    Pulumi and PyPI for the agents (infra/agent_egress.py); Container Apps, GitHub's runner hosts, PyPI and ARM for
    the runners (infra/runner_egress.py); ~330 USD a month in West Europe. `nat`: HTTPS to any internet address
    through the NAT gateway, the NSG's best without host names; staging may choose it to save the firewall, prod
    may not. Used when networkProfile is private; needs a /20 VNet or larger."""

    github_runner_business_id: Annotated[GitHubDatabaseId | None, BeforeValidator(_number_as_text)] = None
    """Conditional. Database ID of the GitHub organization (or enterprise) whose GitHub-hosted runners join the
    VNet (Azure private networking for GitHub-hosted runners): the `businessId` of the stack's
    GitHub.Network/networkSettings resource (`gh api graphql -f query='query { organization(login: "<org>")
    { databaseId } }'`). Required when githubRunners is private-networking."""

    github_runner_group: Annotated[GitHubRunnerGroup | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. Name of the GitHub runner group the organization admin creates for this stack's network
    configuration (from the `githubNetworkSettingsId` output): the GitHub workflows' jobs that touch the stack
    run on it (`runs-on: {group: <name>}`). Required when githubRunners is private-networking; one group per
    stack."""

    github_runners: GitHubRunnersMode = "none"
    """Optional. How GitHub Actions jobs that touch this private stack get into its VNet: `none` (GitHub-hosted
    runners, outside: GitHub-driven projects cannot reach the stack), `private-networking` (GitHub-hosted runners
    joined to the VNet; only in GitHub's regions, with githubRunnerBusinessId and githubRunnerGroup) or
    `container-apps` (ephemeral self-hosted runners as an event-driven Container Apps job in the VNet; any region,
    with githubRunnerUrl, githubAppId and githubAppInstallationId). Public stacks keep `none`."""

    github_runner_url: Annotated[GitHubRunnerUrl | None, BeforeValidator(_empty_is_unset)] = None
    """Conditional. The GitHub organization (https://github.com/<org>) or repository
    (https://github.com/<owner>/<repo>) the container-apps runners register with. Required when githubRunners is
    container-apps."""

    github_app_id: Annotated[GitHubDatabaseId | None, BeforeValidator(_number_as_text)] = None
    """Conditional. App ID of the GitHub App the container-apps runners register with (Self-hosted runners:
    read and write on the organization, or Administration on the repository). Required when githubRunners is
    container-apps."""

    github_app_installation_id: Annotated[GitHubDatabaseId | None, BeforeValidator(_number_as_text)] = None
    """Conditional. Installation ID of that App in the organization or repository of githubRunnerUrl. Required
    when githubRunners is container-apps."""

    github_app_key_secret_name: SecretName = "github-runner-app-key"
    """Conditional. Name of the stack key vault's secret holding the App's private key (PEM), stored by its
    owner before githubRunners is set to container-apps, never by Pulumi; the runners' job reads it through a
    Key Vault reference. Used when githubRunners is container-apps."""

    github_runner_max_executions: int = Field(default=4, ge=1, le=50)
    """Conditional. Most runners (job executions) running at once (1-50); each takes addresses of the runners'
    /24. Used when githubRunners is container-apps."""

    @model_validator(mode="after")
    def _check_rules_across_keys(self) -> StackConfig:
        problems: list[str] = []
        devops = {
            "retrainPipelineId": self.retrain_pipeline_id or None,
            "azureDevOpsOrganization": self.azure_devops_organization,
            "azureDevOpsProject": self.azure_devops_project,
        }
        given = sorted(key for key, value in devops.items() if value is not None)
        if given and len(given) != len(devops):
            missing = sorted(set(devops) - set(given))
            problems.append(
                f"{PROJECT}:{missing[0]} is unset: retraining needs all of {sorted(devops)} "
                f"(set: {given}, missing: {missing})"
            )
        if self.lifecycle_events_enabled and self.network_profile == "private":
            prefix = ipaddress.ip_network(self.vnet_address_space).prefixlen
            if prefix > LIFECYCLE_MAX_VNET_PREFIX:
                problems.append(
                    f"{PROJECT}:vnetAddressSpace = {self.vnet_address_space!r}: must be a "
                    f"/{LIFECYCLE_MAX_VNET_PREFIX} or larger when lifecycleEventsEnabled is true and "
                    "networkProfile is 'private'; the handler's VNet integration subnet is the fifth /24"
                )
        if given and not self.lifecycle_events_enabled:
            problems.append(
                f"{PROJECT}:lifecycleEventsEnabled = False: {given} have no effect without lifecycle events; "
                "enable them or unset those keys"
            )
        if self.cpu_cluster_max_nodes < self.cpu_cluster_min_nodes:
            problems.append(
                f"{PROJECT}:cpuClusterMaxNodes = {self.cpu_cluster_max_nodes}: must not be below "
                f"cpuClusterMinNodes ({self.cpu_cluster_min_nodes})"
            )
        if self.cpu_cluster_min_nodes > 0 and self.environment != "prod":
            problems.append(
                f"{PROJECT}:cpuClusterMinNodes = {self.cpu_cluster_min_nodes}: must be 0 outside prod "
                f"(environment is {self.environment!r}), so idle clusters cost nothing"
            )
        if self.network_profile == "private":
            if self.managed_network_isolation == "Disabled":
                problems.append(
                    f"{PROJECT}:managedNetworkIsolation = 'Disabled': must be AllowInternetOutbound or "
                    "AllowOnlyApprovedOutbound when networkProfile is 'private'"
                )
            if self.container_registry_sku != "Premium":
                problems.append(
                    f"{PROJECT}:containerRegistrySku = {self.container_registry_sku!r}: must be 'Premium' when "
                    "networkProfile is 'private' (private link needs Premium)"
                )
        if self.monthly_budget_usd > 0 and not self.alert_emails:
            problems.append(
                f"{PROJECT}:alertEmails = []: must list at least one address when monthlyBudgetUsd is set "
                f"({self.monthly_budget_usd})"
            )
        problems += self._registry_problems()
        problems += self._databricks_problems()
        problems += self._agent_pool_problems()
        problems += self._agent_egress_problems()
        problems += self._github_runner_problems()
        problems += production_grade_problems(self, PROJECT) + customer_managed_key_problems(self, PROJECT)
        if problems:
            raise ValueError("\n  - ".join(problems))
        return self

    def _registry_problems(self) -> list[str]:
        problems = []
        if self.create_aml_registry and self.aml_registry_owner_stack is not None:
            problems.append(
                f"{PROJECT}:amlRegistryOwnerStack = {self.aml_registry_owner_stack!r}: must be unset when "
                "createAmlRegistry is true (a stack owns the registry or uses another stack's, not both)"
            )
        if self.aml_registry_subscription_id is not None and self.aml_registry_owner_stack is None:
            problems.append(
                f"{PROJECT}:amlRegistrySubscriptionId = {self.aml_registry_subscription_id!r}: is used only "
                "with amlRegistryOwnerStack (the owner stack's subscription)"
            )
        return problems

    def _databricks_problems(self) -> list[str]:
        if not self.databricks_enabled:
            return []
        required = {
            "databricksJobPackage": self.databricks_job_package,
            "databricksTrainingTable": self.databricks_training_table,
            "databricksJobClientId": self.databricks_job_client_id,
            "databricksJobPrincipalId": self.databricks_job_principal_id,
            "azureDatabricksPrincipalId": self.azure_databricks_principal_id,
        }
        return [
            f"{PROJECT}:{key} = None: is required when databricksEnabled is true"
            for key, value in required.items()
            if value is None
        ]

    def _agent_pool_problems(self) -> list[str]:
        """The private profile's pool needs what only the user knows; a public stack has no pool to configure."""
        given = {
            "agentPoolOrganizationUrl": self.agent_pool_organization_url,
            "agentPoolProjects": self.agent_pool_projects or None,
            "devOpsInfrastructurePrincipalId": self.dev_ops_infrastructure_principal_id,
        }
        if not self.is_private:
            return [
                f"{PROJECT}:{key} = {value!r}: has no effect when networkProfile is 'public' (hosted agents, no "
                "pool); unset it"
                for key, value in given.items()
                if value is not None
            ]
        problems = [
            f"{PROJECT}:{key} is unset: is required when networkProfile is 'private' (the stack's build agents "
            "run in its VNet)"
            for key, value in given.items()
            if value is None
        ]
        prefix = ipaddress.ip_network(self.vnet_address_space).prefixlen
        if prefix > AGENTS_MAX_VNET_PREFIX:
            problems.append(
                f"{PROJECT}:vnetAddressSpace = {self.vnet_address_space!r}: must be a /{AGENTS_MAX_VNET_PREFIX} "
                "or larger when networkProfile is 'private'; the build agents' subnet is the sixth /24"
            )
        return problems

    def _agent_egress_problems(self) -> list[str]:
        """The allow-list is the default and prod's rule; it needs the VNet's ninth /24."""
        if not self.is_private:
            return []  # no pool: Microsoft-hosted agents (Pulumi.yaml's default reaches every stack)
        if self.agent_egress == "nat":
            if self.environment == "prod":
                return [
                    f"{PROJECT}:agentEgress = 'nat': must be 'firewall' when environment is 'prod' (its build agents "
                    "deploy and promote production: their egress is an allow-list of host names)"
                ]
            return []
        prefix = ipaddress.ip_network(self.vnet_address_space).prefixlen
        if prefix > AGENT_FIREWALL_MAX_VNET_PREFIX:
            return [
                f"{PROJECT}:vnetAddressSpace = {self.vnet_address_space!r}: must be a "
                f"/{AGENT_FIREWALL_MAX_VNET_PREFIX} or larger when agentEgress is 'firewall' and networkProfile is "
                "'private'; the egress firewall's subnets are in the ninth /24 (or set agentEgress: nat)"
            ]
        return []

    def _github_runner_problems(self) -> list[str]:
        """Each runner mode needs its own keys and refuses the other's; a public stack keeps GitHub-hosted runners."""
        keys = {
            "private-networking": {
                "githubRunnerBusinessId": self.github_runner_business_id,
                "githubRunnerGroup": self.github_runner_group,
            },
            "container-apps": {
                "githubRunnerUrl": self.github_runner_url,
                "githubAppId": self.github_app_id,
                "githubAppInstallationId": self.github_app_installation_id,
            },
        }
        mode = self.github_runners
        if not self.is_private and mode != "none":
            return [
                f"{PROJECT}:githubRunners = {mode!r}: must be 'none' when networkProfile is 'public' (GitHub-hosted "
                "runners reach a public stack as it is)"
            ]
        problems = [
            f"{PROJECT}:{key} = {value!r}: has no effect unless githubRunners is {wanted!r} (it is {mode!r}); "
            "unset it"
            for wanted, given in keys.items()
            if wanted != mode
            for key, value in given.items()
            if value is not None
        ]
        problems += [
            f"{PROJECT}:{key} is unset: is required when githubRunners is {mode!r}"
            for key, value in keys.get(mode, {}).items()
            if value is None
        ]
        if mode == "private-networking" and self.location not in GITHUB_PRIVATE_NETWORKING_REGIONS:
            problems.append(
                f"{PROJECT}:githubRunners = 'private-networking': needs a location where GitHub-hosted runners can "
                f"join a VNet, and location = {self.location!r} is not one (use 'container-apps', which works in "
                f"every region); supported: {sorted(GITHUB_PRIVATE_NETWORKING_REGIONS)}"
            )
        return problems

    @property
    def github_private_networking(self) -> bool:
        """True when GitHub-hosted runners join this (private) stack's VNet (GitHub's private networking)."""
        return self.is_private and self.github_runners == "private-networking"

    @property
    def github_container_apps(self) -> bool:
        """True when self-hosted GitHub runners run as a Container Apps job in this (private) stack's VNet."""
        return self.is_private and self.github_runners == "container-apps"

    @property
    def agent_egress_firewall(self) -> bool:
        """True when the stack builds the CI/CD subnets' egress firewall: a private stack with agentEgress firewall."""
        return self.is_private and self.agent_egress == "firewall"

    @property
    def is_private(self) -> bool:
        """True when the stack's network profile keeps public network access off."""
        return self.network_profile == "private"


_LIST_KEYS = frozenset(
    field.alias for field in StackConfig.model_fields.values() if get_origin(field.annotation) is tuple
)


def _decode(key: str, raw: Any) -> Any:
    """Pulumi hands every value over as a string; lists arrive JSON-encoded."""
    if isinstance(raw, str) and key in _LIST_KEYS:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as err:
            msg = f"{PROJECT}:{key} = {raw!r}: must be a list (JSON array), e.g. ['a', 'b']"
            raise InvalidStackConfig(msg) from err
    return raw


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:
        return message
    if error["type"] == "extra_forbidden":
        return f"{PROJECT}:{location}: is not a configuration key of this project (check its spelling)"
    if error["type"] == "missing":
        return f"{PROJECT}:{location}: is required (pulumi config set {location} <value>)"
    return f"{PROJECT}:{location} = {error.get('input')!r}: {message}"


def parse_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate raw configuration values keyed by their camelCase names.

    Raises InvalidStackConfig listing every problem, one per line, each naming the key, the value
    and the rule.
    """
    decoded = {key: _decode(key, raw) for key, raw in values.items()}
    try:
        return StackConfig.model_validate(decoded)
    except ValidationError as err:
        lines = "\n".join(f"  - {_describe(e)}" for e in err.errors())
        msg = f"invalid stack configuration:\n{lines}"
        raise InvalidStackConfig(msg) from err


def project_config_values(all_config: Mapping[str, Any], project: str = PROJECT) -> dict[str, Any]:
    """The values in `all_config` ("<namespace>:<key>" -> value) that belong to this project."""
    prefix = f"{project}:"
    return {key.removeprefix(prefix): value for key, value in all_config.items() if key.startswith(prefix)}
