"""The private profile's CI/CD agents: the Managed DevOps Pool in the VNet's `agents` subnet, and its grants; and,
where the stack opts in, GitHub-hosted runners in its `github-runners` subnet or self-hosted GitHub runners as a
Container Apps job in its `github-runner-jobs` subnet.

Kept beside the stack program so that the program reads the same for both profiles: a public stack has no VNet,
so its pipelines use Microsoft-hosted agents and it has no pool (`agentPoolName` is "").
"""

from __future__ import annotations

import pulumi

from infra.access_policy import agent_pool_grants
from infra.agent_egress import AGENT_EGRESS_HOSTS
from infra.components.agent_pool import AgentPool, AgentPoolArgs
from infra.components.egress_firewall import (
    FIREWALL_MANAGEMENT_SUBNET,
    FIREWALL_SUBNET,
    AllowList,
    EgressFirewall,
    EgressFirewallArgs,
)
from infra.components.github_runners import GitHubRunnerNetwork, GitHubRunnerNetworkArgs
from infra.components.github_runners_container_apps import GitHubRunnerJobs, GitHubRunnerJobsArgs
from infra.components.governance import CONTAINER_APPS_ENVIRONMENT_LOGS, DiagnosticTarget
from infra.components.network import PrivateNetwork
from infra.config import StackConfig
from infra.naming import ResourceNames, stack_agent_pool, stack_urn_root
from infra.private_profile import (
    AGENTS_SUBNET,
    CONTAINER_APPS_RUNNERS_SUBNET,
    GITHUB_RUNNERS_SUBNET,
    private_subnets,
)
from infra.runner_egress import RUNNER_EGRESS_HOSTS
from infra.stack_resources import StackResources


def agent_pool_bootstrap_targets(config: StackConfig, stack: str) -> tuple[str, ...]:
    """URN patterns (`pulumi up --target`) of what `stack`'s agent pool needs before it runs a job, which the infra
    pipeline's agents_<stack> job brings up from Microsoft-hosted agents (ARM calls only): the resource group, the
    VNet (subnets, NSGs, DNS zones, the NAT gateway or the route table), the pool and its grants, and, with the
    egress firewall, the agents' only way out. None for a stack without a pool (public: Microsoft-hosted agents).
    The same facts decide what the program builds: stack_agent_pool and StackConfig.agent_egress_firewall."""
    if not stack_agent_pool(config):
        return ()
    root = stack_urn_root(stack)
    firewall = (f"{root}azure-mlops:network:EgressFirewall**",) if config.agent_egress_firewall else ()
    return (
        f"{root}azure-native:resources:ResourceGroup::resource-group",
        f"{root}azure-mlops:network:PrivateNetwork**",
        f"{root}azure-mlops:cicd:AgentPool**",
        *firewall,
    )


def build_agent_pool(
    config: StackConfig, names: ResourceNames, stack: StackResources, network: PrivateNetwork | None
) -> AgentPool | None:
    """The stack's agent pool in a private stack; None in a public one."""
    if network is None:
        return None
    if config.agent_pool_organization_url is None or config.dev_ops_infrastructure_principal_id is None:
        msg = "build_agent_pool needs a configuration validated with networkProfile private (organization, principal)"
        raise ValueError(msg)
    return AgentPool(
        "agents",
        AgentPoolArgs(
            resource_group_name=stack.resource_group_name,
            location=config.location,
            dev_center_name=names.dev_center,
            project_name=names.dev_center_project,
            pool_name=names.agent_pool(config.agent_pool_organization_url),
            organization_url=config.agent_pool_organization_url,
            projects=config.agent_pool_projects,
            subnet_id=network.subnet_ids[AGENTS_SUBNET],
            grants=agent_pool_grants(config.dev_ops_infrastructure_principal_id, network.vnet_id),
            subscription_id=stack.subscription_id,
            stack_suffix=names.suffix,
            tags=stack.tags,
            max_agents=config.agent_pool_max_agents,
            vm_size=config.agent_pool_vm_size,
        ),
    )


def build_agent_egress(
    config: StackConfig, names: ResourceNames, stack: StackResources, network: PrivateNetwork | None
) -> EgressFirewall | None:
    """The egress firewall of a private stack with agentEgress: firewall, None otherwise: the build agents'
    allow-list, and the GitHub runner jobs' when the stack runs them (githubRunners: container-apps)."""
    if network is None or not config.agent_egress_firewall:
        return None
    if network.route_table_name is None:
        msg = "build_agent_egress needs a network built with agentEgress firewall (its route table)"
        raise ValueError(msg)
    prefixes = {spec.name: spec.address_prefix for spec in private_subnets(config) if spec.firewall_route}
    wanted = ((AGENTS_SUBNET, AGENT_EGRESS_HOSTS), (CONTAINER_APPS_RUNNERS_SUBNET, RUNNER_EGRESS_HOSTS))
    return EgressFirewall(
        "agent-egress",
        EgressFirewallArgs(
            resource_group_name=stack.resource_group_name,
            location=config.location,
            firewall_name=names.egress_firewall,
            policy_name=names.egress_firewall_policy,
            public_ip_name=names.egress_firewall_ip,
            management_public_ip_name=names.egress_firewall_management_ip,
            subnet_id=network.subnet_ids[FIREWALL_SUBNET],
            management_subnet_id=network.subnet_ids[FIREWALL_MANAGEMENT_SUBNET],
            route_table_name=network.route_table_name,
            allow_lists=tuple(
                AllowList(name=subnet, source_prefixes=(prefixes[subnet],), rules=rules)
                for subnet, rules in wanted
                if subnet in prefixes
            ),
            tags=stack.tags,
        ),
    )


def build_github_runners(
    config: StackConfig, names: ResourceNames, stack: StackResources, network: PrivateNetwork | None
) -> GitHubRunnerNetwork | None:
    """GitHub-hosted runners' network settings in a private stack that opts in; None otherwise."""
    if network is None or not config.github_private_networking:
        return None
    if config.github_runner_business_id is None or config.github_runner_group is None:
        msg = "build_github_runners needs a configuration validated with githubRunnerBusinessId and githubRunnerGroup"
        raise ValueError(msg)
    return GitHubRunnerNetwork(
        "github-runners",
        GitHubRunnerNetworkArgs(
            resource_group_name=stack.resource_group_name,
            location=config.location,
            settings_name=names.github_network_settings,
            deployment_name=names.github_network_deployment,
            subnet_id=network.subnet_ids[GITHUB_RUNNERS_SUBNET],
            business_id=config.github_runner_business_id,
            runner_group=config.github_runner_group,
            tags=stack.tags,
        ),
    )


def build_github_runner_jobs(
    config: StackConfig,
    names: ResourceNames,
    stack: StackResources,
    network: PrivateNetwork | None,
    registry: tuple[pulumi.Input[str], pulumi.Input[str]],
    egress: EgressFirewall | None,
) -> GitHubRunnerJobs | None:
    """Self-hosted GitHub runners (a Container Apps job) in a private stack that chooses them; None otherwise.
    `registry` is the stack's container registry (ID, login server), which holds the runner image; `egress` the
    stack's egress firewall, whose route the runners' subnet leaves through (None: the NAT gateway)."""
    if network is None or not config.github_container_apps:
        return None
    if (
        config.github_runner_url is None
        or config.github_app_id is None
        or config.github_app_installation_id is None
    ):
        msg = "build_github_runner_jobs needs a configuration validated with githubRunners container-apps"
        raise ValueError(msg)
    registry_id, login_server = registry
    return GitHubRunnerJobs(
        "github-runner-jobs",
        GitHubRunnerJobsArgs(
            resource_group_name=stack.resource_group_name,
            location=config.location,
            environment_name=names.runner_environment,
            job_name=names.runner_job,
            identity_name=names.runner_identity,
            subnet_id=network.subnet_ids[CONTAINER_APPS_RUNNERS_SUBNET],
            key_vault_id=stack.key_vault_id,
            key_vault_name=stack.key_vault_name,
            app_key_secret_name=config.github_app_key_secret_name,
            container_registry_id=registry_id,
            registry_login_server=login_server,
            github_url=config.github_runner_url,
            app_id=config.github_app_id,
            installation_id=config.github_app_installation_id,
            label=names.github_runner_label,
            max_executions=config.github_runner_max_executions,
            subscription_id=stack.subscription_id,
            stack_suffix=names.suffix,
            tags=stack.tags,
            egress_ready=(egress.default_route,) if egress else (),
        ),
    )


RUNNER_JOBS_DIAGNOSTICS = "github-runner-jobs-environment"
"""Governance's key of the runner environment's diagnostic setting."""


def ci_diagnostics(
    agent_egress: EgressFirewall | None, runner_jobs: GitHubRunnerJobs | None
) -> dict[str, DiagnosticTarget]:
    """The CI/CD resources whose logs go to Log Analytics through Governance: the egress firewall (application and
    network rule hits) and the runner jobs' Container Apps environment (their console and system logs)."""
    targets = {}
    if agent_egress is not None:
        targets["agent-egress-firewall"] = DiagnosticTarget(agent_egress.firewall_id)
    if runner_jobs is not None:
        targets[RUNNER_JOBS_DIAGNOSTICS] = DiagnosticTarget(
            runner_jobs.environment_id,
            CONTAINER_APPS_ENVIRONMENT_LOGS,
            # The setting GitHubRunnerJobs declared itself until it moved here: the same Azure object, kept in place.
            aliases=(pulumi.Alias(name="github-runner-jobs-diagnostics", parent=runner_jobs),),
        )
    return targets
