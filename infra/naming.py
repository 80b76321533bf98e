"""Naming rules for Azure resources: every physical name in the stack is derived here, once.

Names follow the Cloud Adoption Framework pattern `<abbreviation>-<workload>-<environment>-<region>`.
Globally unique names (storage, key vault, registry) end in a short suffix that is deterministic
(the same stack always gets the same names) and unique per subscription and stack (two stacks, or two
subscriptions, never collide). Where a type's length limit is tight, the workload part is shortened
first, then the environment; the suffix is never cut.

Two names stay reserved after their resource is deleted: a key vault's (soft delete, 7-90 days, and purge
protection forbids purging it) and an Azure ML workspace's (soft delete, 14 days, compute instances
included, whose names are unique per region). Those carry the stack's name generation (config `nameGeneration`) once it is above 0, so a destroyed stack can be built
again the same day under fresh names; every other name is free again on deletion, or (Log Analytics)
recovers the deleted resource when re-created in the same resource group, so it never changes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from infra.config import PROJECT, StackConfig
from infra.errors import InvalidResourceName
from infra.regions import REGION_ABBREVIATIONS

SUFFIX_LENGTH = 6
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class NameRule:
    """An Azure naming rule: length bounds and the allowed pattern, as Azure documents them."""

    min_length: int
    max_length: int
    pattern: re.Pattern[str]
    description: str

    def check(self, kind: str, name: str) -> str:
        """Return `name` if it satisfies the rule, else raise InvalidResourceName naming the rule."""
        if not self.min_length <= len(name) <= self.max_length or not self.pattern.fullmatch(name):
            msg = (
                f"{kind} name {name!r} breaks Azure's rule: {self.min_length}-{self.max_length} "
                f"characters, {self.description}"
            )
            raise InvalidResourceName(msg)
        return name


# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
NAME_RULES: dict[str, NameRule] = {
    "resource_group": NameRule(1, 90, re.compile(r"[-\w.()]*[-\w()]"), "letters, digits, - _ . ( )"),
    "log_analytics": NameRule(
        4, 63, re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]"), "letters, digits and hyphens"
    ),
    "application_insights": NameRule(1, 260, re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*"), "letters, digits, -"),
    "storage_account": NameRule(3, 24, re.compile(r"[a-z0-9]+"), "lower-case letters and digits only"),
    "key_vault": NameRule(
        3,
        24,
        re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]"),
        "letters, digits and single hyphens, starting with a letter",
    ),
    "container_registry": NameRule(5, 50, re.compile(r"[A-Za-z0-9]+"), "letters and digits only"),
    "ml_workspace": NameRule(
        3, 33, re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), "letters, digits, - and _, starting alphanumeric"
    ),
    "ml_compute": NameRule(
        3,
        16,
        re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]"),
        "letters, digits and hyphens, starting with a letter (unique per region for instances)",
    ),
    "ml_datastore": NameRule(1, 255, re.compile(r"[a-z0-9_]+"), "lower-case letters, digits and _"),
    "network": NameRule(
        2,
        64,
        re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]"),
        "letters, digits, - . _, alphanumeric start",
    ),
    "databricks_workspace": NameRule(
        3, 64, re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), "letters, digits, - and _, starting alphanumeric"
    ),
    "action_group_short": NameRule(1, 12, re.compile(r"[A-Za-z0-9-]+"), "letters, digits and hyphens"),
    # Function apps are reached at <name>.azurewebsites.net: the name is global, like a storage account's.
    "web": NameRule(
        2,
        60,
        re.compile(r"[A-Za-z0-9](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]"),
        "letters, digits and single hyphens",
    ),
    "managed_identity": NameRule(
        3, 128, re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), "letters, digits, - and _, starting alphanumeric"
    ),
    "key_vault_key": NameRule(1, 127, re.compile(r"[A-Za-z0-9-]+"), "letters, digits and hyphens"),
    "event_grid": NameRule(3, 64, re.compile(r"[A-Za-z0-9-]+"), "letters, digits and hyphens"),
    "dev_center": NameRule(
        3, 26, re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*"), "letters, digits and hyphens, alphanumeric start"
    ),
    # Container Apps environments and jobs: lower case, starting with a letter (jobs allow 32 characters).
    "container_app": NameRule(
        2,
        32,
        re.compile(r"[a-z](?!.*--)[a-z0-9-]*[a-z0-9]"),
        "lower-case letters, digits and single hyphens, starting with a letter",
    ),
    # The pool's name is global in Azure and is also the Azure DevOps agent pool's name in the organization.
    "devops_pool": NameRule(
        3, 44, re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*"), "letters, digits, - and ., alphanumeric start"
    ),
}


def deterministic_suffix(*parts: str, length: int = SUFFIX_LENGTH) -> str:
    """A short lower-case base-36 digest of `parts`: stable across runs, different for different parts.

    >>> deterministic_suffix("00000000-0000-0000-0000-000000000000", "azure-mlops", "dev")
    '17y4u6'
    """
    number = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest(), "big")
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(digits)


def agent_pool_name(workload: str, environment: str, region_code: str, organization_url: str) -> str:
    """The Managed DevOps Pool of a stack (`ResourceNames.agent_pool`), from the stack file's values alone: the
    pipelines' pools template (infra/pipeline_pools.py) derives it before any stack exists.

    >>> agent_pool_name("mlops", "prod", "we", "https://dev.azure.com/contoso/")
    'mdp-mlops-prod-50ffqn'
    """
    digest = deterministic_suffix(organization_url.lower().rstrip("/"), workload, environment, region_code)
    return NAME_RULES["devops_pool"].check("devops_pool", f"mdp-{workload}-{environment}-{digest}")


def stack_urn_root(stack: str, project: str = PROJECT) -> str:
    """The start of every URN in `stack`, for `pulumi up --target` patterns.

    >>> stack_urn_root("prod")
    'urn:pulumi:prod::azure-mlops::'
    """
    return f"urn:pulumi:{stack}::{project}::"


def stack_agent_pool(config: StackConfig) -> str:
    """The pool a stack's data-plane jobs run on: its Managed DevOps Pool when it is private (stack output
    agentPoolName), "" when it is public and its jobs run on Microsoft-hosted agents."""
    if not config.is_private or config.agent_pool_organization_url is None:
        return ""
    return agent_pool_name(
        config.workload,
        config.environment,
        REGION_ABBREVIATIONS[config.location],
        str(config.agent_pool_organization_url),
    )


@dataclass(frozen=True)
class ResourceNames:
    """Every physical resource name of one stack.

    Build it with `ResourceNames.for_stack(...)`; each property checks its name against its rule.
    """

    workload: str
    environment: str
    region_code: str
    suffix: str
    generation: int = 0
    """The stack's name generation: 0 for the names it was first built with, bumped to rebuild it after a
    destroy while Azure still reserves its deleted key vault's and workspace's names."""

    @classmethod
    def for_stack(
        cls,
        *,
        workload: str,
        environment: str,
        location: str,
        subscription_id: str,
        project: str,
        stack: str,
        generation: int = 0,
    ) -> ResourceNames:
        """Names for `stack` of `project` in `subscription_id`; `location` must be a supported region."""
        try:
            region_code = REGION_ABBREVIATIONS[location]
        except KeyError as err:
            msg = (
                f"location {location!r} has no region abbreviation; supported: {sorted(REGION_ABBREVIATIONS)}"
            )
            raise InvalidResourceName(msg) from err
        if generation < 0:
            msg = f"name generation {generation} must be 0 or more"
            raise InvalidResourceName(msg)
        suffix = deterministic_suffix(subscription_id.lower(), project, stack)
        return cls(
            workload=workload,
            environment=environment,
            region_code=region_code,
            suffix=suffix,
            generation=generation,
        )

    @classmethod
    def for_config(
        cls, config: StackConfig, *, subscription_id: str, project: str, stack: str
    ) -> ResourceNames:
        """Names for `stack` as its validated configuration derives them (workload, environment, region and name
        generation from the stack file)."""
        return cls.for_stack(
            workload=config.workload,
            environment=config.environment,
            location=config.location,
            subscription_id=subscription_id,
            project=project,
            stack=stack,
            generation=config.name_generation,
        )

    @property
    def generation_suffix(self) -> str:
        """The suffix of names Azure reserves after deletion: the stack's suffix in generation 0, then a digest
        of it and the generation (same length, so no name grows)."""
        if self.generation == 0:
            return self.suffix
        return deterministic_suffix(self.suffix, f"generation-{self.generation}")

    def _fit(self, kind: str, template: str, suffix: str | None = None) -> str:
        """Render `template`, shortening {workload} then {environment} until the rule's length fits."""
        rule = NAME_RULES[kind]
        workload, environment = self.workload, self.environment
        while True:
            name = template.format(
                workload=workload,
                environment=environment,
                region=self.region_code,
                suffix=self.suffix if suffix is None else suffix,
            )
            if len(name) <= rule.max_length:
                return rule.check(kind, name)
            if len(workload) > 2:
                workload = workload[:-1]
            elif len(environment) > 2:
                environment = environment[:-1]
            else:
                return rule.check(kind, name)

    @property
    def resource_group(self) -> str:
        return self._fit("resource_group", "rg-{workload}-{environment}-{region}")

    @property
    def log_analytics(self) -> str:
        return self._fit("log_analytics", "log-{workload}-{environment}-{region}")

    @property
    def application_insights(self) -> str:
        return self._fit("application_insights", "appi-{workload}-{environment}-{region}")

    @property
    def storage_account(self) -> str:
        """The workspace's default storage account (globally unique)."""
        return self._fit("storage_account", "st{workload}{environment}{suffix}")

    @property
    def data_lake(self) -> str:
        """The ADLS Gen2 data lake account (globally unique)."""
        return self._fit("storage_account", "dls{workload}{environment}{suffix}")

    @property
    def key_vault(self) -> str:
        """The stack's key vault: its name stays reserved after deletion, so it carries the generation."""
        return self._fit("key_vault", "kv-{workload}-{environment}-{suffix}", self.generation_suffix)

    @property
    def container_registry(self) -> str:
        return self._fit("container_registry", "cr{workload}{environment}{suffix}")

    @property
    def ml_workspace(self) -> str:
        """The Azure ML workspace: its name stays reserved after deletion, so it carries the generation."""
        generation = f"-g{self.generation}" if self.generation else ""
        return self._fit("ml_workspace", "mlw-{workload}-{environment}-{region}" + generation)

    @property
    def workspace_key_identity(self) -> str:
        """The user-assigned identity the workspace reads its customer-managed key with."""
        return self._fit("managed_identity", "id-{workload}-{environment}-{region}-cmk")

    @property
    def aml_registry(self) -> str:
        """The shared Azure ML registry: one per subscription and stack that creates it."""
        return self._fit("ml_workspace", "mlr-{workload}-{suffix}")

    @property
    def virtual_network(self) -> str:
        return self._fit("network", "vnet-{workload}-{environment}-{region}")

    @property
    def network_security_group(self) -> str:
        """Prefix of the NSGs; each subnet's NSG appends `-<subnet>`."""
        return self._fit("network", "nsg-{workload}-{environment}-{region}")

    @property
    def nat_gateway(self) -> str:
        return self._fit("network", "ng-{workload}-{environment}-{region}")

    @property
    def nat_public_ip(self) -> str:
        """The NAT gateway's outbound address."""
        return self._fit("network", "pip-ng-{workload}-{environment}-{region}")

    @property
    def agent_route_table(self) -> str:
        """The route table that sends the CI/CD subnets' (agents', GitHub runner jobs') internet-bound traffic to the
        egress firewall; the name predates the runners' use and stays (renaming would replace the table)."""
        return self._fit("network", "rt-{workload}-{environment}-{region}-agents")

    @property
    def egress_firewall(self) -> str:
        return self._fit("network", "afw-{workload}-{environment}-{region}")

    @property
    def egress_firewall_policy(self) -> str:
        return self._fit("network", "afwp-{workload}-{environment}-{region}")

    @property
    def egress_firewall_ip(self) -> str:
        """The firewall's outbound address: what the agents' traffic leaves from."""
        return self._fit("network", "pip-afw-{workload}-{environment}-{region}")

    @property
    def egress_firewall_management_ip(self) -> str:
        """The address Microsoft manages a Basic firewall through (its management IP configuration)."""
        return self._fit("network", "pip-afw-{workload}-{environment}-{region}-mgmt")

    def private_endpoint(self, key: str) -> str:
        """The private endpoint named by `key` (e.g. `workspace`, `storage-blob`)."""
        return self._fit("network", "pep-{workload}-{environment}-" + key)

    @property
    def databricks_workspace(self) -> str:
        return self._fit("databricks_workspace", "dbw-{workload}-{environment}-{region}")

    @property
    def databricks_managed_resource_group(self) -> str:
        """The resource group Azure Databricks creates and locks for the workspace's own resources."""
        return self._fit("resource_group", "rg-{workload}-{environment}-{region}-dbw-managed")

    @property
    def action_group(self) -> str:
        return self._fit("network", "ag-{workload}-{environment}-{region}")

    @property
    def action_group_short(self) -> str:
        """The action group's short name: 12 characters at most, shown in alert messages."""
        return self._fit("action_group_short", "{workload}-{environment}")

    @property
    def event_grid_topic(self) -> str:
        """The Event Grid system topic of the workspace's lifecycle events."""
        return self._fit("event_grid", "evgt-{workload}-{environment}-{region}")

    @property
    def function_plan(self) -> str:
        """The Flex Consumption plan of the lifecycle event handler."""
        return self._fit("web", "asp-{workload}-{environment}-{region}")

    @property
    def function_app(self) -> str:
        """The lifecycle event handler's function app (globally unique host name)."""
        return self._fit("web", "func-{workload}-{environment}-{suffix}")

    @property
    def function_storage(self) -> str:
        """The function app's own storage: host state and code package (globally unique)."""
        return self._fit("storage_account", "stfn{workload}{environment}{suffix}")

    @property
    def inbox_storage(self) -> str:
        """Where Event Grid delivers lifecycle events: their queue and dead letters (globally unique)."""
        return self._fit("storage_account", "stinb{workload}{environment}{suffix}")

    @property
    def audit_storage(self) -> str:
        """The audit store of lifecycle events (globally unique)."""
        return self._fit("storage_account", "staud{workload}{environment}{suffix}")

    @property
    def dev_center(self) -> str:
        """The Dev Center that holds the Managed DevOps Pool's project."""
        return self._fit("dev_center", "dc-{workload}-{environment}-{region}")

    @property
    def dev_center_project(self) -> str:
        """The Dev Center project the Managed DevOps Pool belongs to."""
        return self._fit("dev_center", "dcp-{workload}-{environment}-{region}")

    @property
    def github_network_settings(self) -> str:
        """The GitHub.Network/networkSettings resource that lets GitHub-hosted runners join the VNet."""
        return self._fit("network", "ghns-{workload}-{environment}-{region}")

    @property
    def github_network_deployment(self) -> str:
        """The ARM deployment that declares the network settings (azure-native has no type for them)."""
        return self._fit("network", "deploy-ghns-{workload}-{environment}-{region}")

    @property
    def runner_environment(self) -> str:
        """The Container Apps environment (workload profiles, internal) of the self-hosted GitHub runners."""
        return self._fit("container_app", "cae-{workload}-{environment}-{region}")

    @property
    def runner_job(self) -> str:
        """The event-driven Container Apps job whose executions are the self-hosted GitHub runners."""
        return self._fit("container_app", "caj-ghr-{workload}-{environment}-{region}")

    @property
    def runner_identity(self) -> str:
        """The runners' job identity: pulls their image and reads the GitHub App's key, nothing else."""
        return self._fit("managed_identity", "id-ghr-{workload}-{environment}-{region}")

    @property
    def github_runner_label(self) -> str:
        """The label the stack's self-hosted runners register with and its GitHub jobs' `runs-on` selects. Runner
        labels are per organization or repository, where several projects' stacks may register: the stack's suffix
        keeps one stack's jobs off another's runners."""
        return f"{self.workload}-{self.environment}-{self.suffix}"

    def agent_pool(self, organization_url: str) -> str:
        """The Managed DevOps Pool, which is also the Azure DevOps agent pool pipelines name in `pool: name:`.

        Pool names are global in Azure, so the name ends in a digest; unlike `suffix` it depends on nothing but
        the stack file (the organization URL, workload, environment and region), so the infra pipeline can name
        the pool at compile time, before the stack exists.
        """
        return agent_pool_name(self.workload, self.environment, self.region_code, organization_url)

    def compute_instance(self, user_object_id: str) -> str:
        """A user's compute instance: unique per region, so it carries the stack suffix and a user digest. A
        soft-deleted workspace keeps its instances, so the suffix follows the generation."""
        user = deterministic_suffix(user_object_id.lower(), length=5)
        return NAME_RULES["ml_compute"].check("ml_compute", f"ci-{self.generation_suffix}-{user}")

    @staticmethod
    def data_lake_datastore(container: str) -> str:
        """The identity-based datastore of one data lake file system."""
        return NAME_RULES["ml_datastore"].check("ml_datastore", "datalake_" + container.replace("-", "_"))


WORKSPACE_KEY_NAME = NAME_RULES["key_vault_key"].check("key_vault_key", "aml-workspace-cmk")
"""The customer-managed key of the workspace, in the stack's key vault."""

CPU_CLUSTER_NAME = NAME_RULES["ml_compute"].check("ml_compute", "cpu-cluster")
"""The CPU cluster's name: the same in every stack, so job specs say `azureml:cpu-cluster` everywhere."""

GPU_CLUSTER_NAME = NAME_RULES["ml_compute"].check("ml_compute", "gpu-cluster")
"""The GPU cluster's name, when the stack has one."""
