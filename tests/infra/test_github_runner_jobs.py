"""Self-hosted GitHub runners as an event-driven Container Apps job in a private stack's VNet (any region).

The committed staging and prod (westeurope, where GitHub's private networking is not served) choose
`githubRunners: container-apps`; these tests read their plans under the mock engine: the subnet, the internal
workload-profiles environment, the job and its KEDA scale rule, the Key Vault reference, the identity's two grants,
and the outputs the GitHub CD selects the runners with. The twin's side: tests/twin/test_github_runner_jobs_in_twin.py.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from infra.agents_stack import RUNNER_JOBS_DIAGNOSTICS
from infra.components.github_runners_container_apps import (
    APP_PEM_REFERENCE,
    GitHubRunnerJobsArgs,
    RunnerScope,
    key_vault_secret_url,
)
from infra.config import PROJECT
from infra.errors import InvalidStackConfig
from infra.naming import ResourceNames
from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID, Plan, mock_principal_id, run_program
from infra.private_profile import (
    CONTAINER_APPS_DELEGATION,
    CONTAINER_APPS_RUNNERS_SUBNET,
    CONTAINER_APPS_RUNNERS_SUBNET_INDEX,
    subnets,
)
from infra.roles import BuiltInRole
from infra.runner_image_tag import image_tag
from tests.infra.conftest import config_of, stack_config

ENVIRONMENT = "azure-native:app:ManagedEnvironment"
JOB = "azure-native:app:Job"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
PRIVATE = ("staging", "prod")


def _names(stack: str) -> ResourceNames:
    config = config_of(stack)
    return ResourceNames.for_stack(
        workload=config.workload,
        environment=config.environment,
        location=config.location,
        subscription_id=DEFAULT_SUBSCRIPTION_ID,
        project=PROJECT,
        stack=stack,
    )


def _subnet(plan: Plan, name: str) -> dict[str, Any]:
    vnet = plan.one("azure-native:network:VirtualNetwork")
    (subnet,) = [s for s in vnet.inputs["subnets"] if s["name"] == name]
    return subnet


def _runner_identity(plan: Plan) -> Any:
    (identity,) = [r for r in plan.of_type(IDENTITY) if r.name == "github-runner-jobs-identity"]
    return identity


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_runner_subnet_is_the_eighth_slash_24_delegated_to_container_apps(
    plans: dict[str, Plan], stack: str
) -> None:
    """A workload-profiles environment needs a subnet of /27 or larger delegated to Microsoft.App/environments
    (the consumption-only type needs a /23): https://learn.microsoft.com/azure/container-apps/networking. Its way
    out (the egress firewall, or the NAT gateway with agentEgress: nat) is tests/infra/test_runner_egress.py's."""
    plan = plans[stack]
    subnet = _subnet(plan, CONTAINER_APPS_RUNNERS_SUBNET)
    space = ipaddress.ip_network(config_of(stack).vnet_address_space)
    prefix = ipaddress.ip_network(subnet["addressPrefix"])
    assert prefix == list(space.subnets(new_prefix=24))[CONTAINER_APPS_RUNNERS_SUBNET_INDEX]
    assert prefix.prefixlen <= 27
    assert [d["serviceName"] for d in subnet["delegations"]] == [CONTAINER_APPS_DELEGATION]
    environment = plan.one(ENVIRONMENT)
    assert environment.inputs["vnetConfiguration"]["infrastructureSubnetId"].endswith(
        f"/subnets/{CONTAINER_APPS_RUNNERS_SUBNET}"
    )


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_runners_nsg_allows_https_out_denies_the_rest_of_the_internet_and_keeps_azures_inbound(
    plans: dict[str, Plan], stack: str
) -> None:
    """Container Apps' nodes talk to each other inside the subnet and answer the load balancer's probes (Azure's
    default VirtualNetwork and AzureLoadBalancer inbound rules), and pull images, sign in and reach GitHub over
    HTTPS: https://learn.microsoft.com/azure/container-apps/firewall-integration"""
    (nsg,) = [
        r
        for r in plans[stack].of_type("azure-native:network:NetworkSecurityGroup")
        if r.inputs["networkSecurityGroupName"].endswith(f"-{CONTAINER_APPS_RUNNERS_SUBNET}")
    ]
    rules = {r["name"]: r for r in nsg.inputs["securityRules"]}
    assert all(r["direction"] == "Outbound" for r in rules.values())  # no inbound rule above Azure's defaults
    https = rules["allow-https-egress"]
    assert (https["access"], https["destinationAddressPrefix"], https["destinationPortRange"]) == (
        "Allow",
        "Internet",
        "443",
    )
    deny = rules["deny-internet"]
    assert (deny["access"], deny["destinationAddressPrefix"]) == ("Deny", "Internet")
    assert deny["priority"] > https["priority"]


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_environment_is_internal_private_and_serverless(plans: dict[str, Plan], stack: str) -> None:
    """An internal environment has no public endpoint (https://learn.microsoft.com/azure/container-apps/networking);
    the Consumption workload profile bills executions only."""
    inputs = plans[stack].one(ENVIRONMENT).inputs
    assert inputs["environmentName"] == _names(stack).runner_environment
    assert inputs["vnetConfiguration"]["internal"] is True
    assert inputs["publicNetworkAccess"] == "Disabled"
    (profile,) = inputs["workloadProfiles"]
    assert (profile["name"], profile["workloadProfileType"]) == ("Consumption", "Consumption")
    assert inputs["appLogsConfiguration"] == {"destination": "azure-monitor"}  # no shared key in the config
    # Its logs' diagnostic setting is the stack's Governance's, like every other (tests/infra/test_governance.py).
    (diagnostics,) = [
        r
        for r in plans[stack].of_type("azure-native:monitor:DiagnosticSetting")
        if r.inputs["resourceUri"] == plans[stack].one(ENVIRONMENT).resource_id
    ]
    assert (diagnostics.parent, diagnostics.name) == (
        "governance",
        f"governance-diagnostics-{RUNNER_JOBS_DIAGNOSTICS}",
    )


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_job_starts_one_ephemeral_runner_per_queued_github_job_for_the_stacks_label(
    plans: dict[str, Plan], stack: str
) -> None:
    """Microsoft's pattern: an Event-triggered job, one replica per execution, scaled by KEDA's github-runner
    scaler on the queue length (https://learn.microsoft.com/azure/container-apps/tutorial-ci-cd-runners-jobs);
    the scaler's metadata names the owner, the scope, the labels it counts and the GitHub App
    (https://keda.sh/docs/latest/scalers/github-runner/), and its `appKey` comes from a job secret
    (https://learn.microsoft.com/azure/container-apps/scale-app#authentication)."""
    config, label = config_of(stack), _names(stack).github_runner_label
    job = plans[stack].one(JOB).inputs
    configuration = job["configuration"]
    assert (job["jobName"], job["workloadProfileName"]) == (_names(stack).runner_job, "Consumption")
    assert job["environmentId"] == plans[stack].one(ENVIRONMENT).resource_id
    assert (configuration["triggerType"], configuration["replicaRetryLimit"]) == ("Event", 0)
    trigger = configuration["eventTriggerConfig"]
    assert (trigger["parallelism"], trigger["replicaCompletionCount"]) == (1, 1)
    scale = trigger["scale"]
    assert (scale["minExecutions"], scale["maxExecutions"]) == (0, config.github_runner_max_executions)
    (rule,) = scale["rules"]
    assert rule["type"] == "github-runner"
    assert rule["metadata"] == {
        "githubAPIURL": "https://api.github.com",
        "owner": "contoso",
        "runnerScope": "org",
        "labels": label,
        "targetWorkflowQueueLength": "1",
        "applicationID": config.github_app_id,
        "installationID": config.github_app_installation_id,
    }
    assert rule["auth"] == [{"secretRef": APP_PEM_REFERENCE, "triggerParameter": "appKey"}]
    (container,) = job["template"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["RUNNER_LABELS"]["value"] == label  # the runner registers with the label the scaler counts
    assert env["GITHUB_APP_KEY"] == {"name": "GITHUB_APP_KEY", "secretRef": APP_PEM_REFERENCE}


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_app_key_is_a_key_vault_reference_read_with_the_user_assigned_identity(
    plans: dict[str, Plan], stack: str
) -> None:
    """A Key Vault reference names the secret's URL and the managed identity that reads it; the identity must be
    assigned to the job (https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault).
    A versionless URL follows the newest version of the secret."""
    plan, config = plans[stack], config_of(stack)
    job = plan.one(JOB).inputs
    identity = _runner_identity(plan).resource_id
    (secret,) = job["configuration"]["secrets"]
    assert secret == {
        "name": APP_PEM_REFERENCE,
        "keyVaultUrl": key_vault_secret_url(_names(stack).key_vault, config.github_app_key_secret_name),
        "identity": identity,
    }
    assert job["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
    assert job["configuration"]["registries"] == [
        {"server": f"{_names(stack).container_registry}.azurecr.io", "identity": identity}
    ]
    # No value anywhere in the job: no key, token or PEM text.
    text = json.dumps(job)
    assert '"value": ""' not in text and "BEGIN" not in text and '"passwordSecretRef"' not in text
    assert all("value" in e or "secretRef" in e for e in job["template"]["containers"][0]["env"])


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_runner_identity_reads_one_secret_and_pulls_images_nothing_else(
    plans: dict[str, Plan], stack: str
) -> None:
    """Key Vault RBAC roles can be scoped to one secret
    (https://learn.microsoft.com/azure/key-vault/general/rbac-guide); workflow steps run in the runner, so the
    identity holds no more than the job itself needs."""
    plan, config = plans[stack], config_of(stack)
    identity = _runner_identity(plan)
    principal = mock_principal_id(identity.resource_id)
    vault = plan.one("azure-native:keyvault:Vault").resource_id
    registry = plan.one("azure-native:containerregistry:Registry").resource_id
    grants = {
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == principal
    }
    assert grants == {
        (BuiltInRole.KEY_VAULT_SECRETS_USER.value, f"{vault}/secrets/{config.github_app_key_secret_name}"),
        (BuiltInRole.ACR_PULL.value, registry),
    }
    job = plan.one(JOB)
    assert {"github-runner-jobs-access-github-runner-app-key-read"} <= set(job.dependencies)


def test_the_outputs_select_the_runners_and_consumers_select_the_registry_owners(
    plans: dict[str, Plan],
) -> None:
    """`runs-on` with a list picks a runner that has every label in it
    (https://docs.github.com/en/actions/using-jobs/choosing-the-runner-for-a-job): `self-hosted` and the stack's
    own label. dev and staging share into prod's registry, so their share job runs on prod's runners."""
    for stack in PRIVATE:
        assert plans[stack].outputs["githubRunsOn"] == ["self-hosted", _names(stack).github_runner_label]
    assert plans["dev"].outputs["githubRunsOn"] == ""
    assert plans["dev"].outputs["amlRegistryGithubRunsOn"] == plans["prod"].outputs["githubRunsOn"]
    assert plans["staging"].outputs["amlRegistryGithubRunsOn"] == plans["prod"].outputs["githubRunsOn"]
    # Tagged with the runner release and the build context's digest (infra/runner_image_tag.py).
    assert plans["prod"].outputs["githubRunnerImage"] == (
        f"{_names('prod').container_registry}.azurecr.io/github-actions-runner:{image_tag('2.329.0')}"
    )
    assert plans["dev"].outputs["githubRunnerImage"] == "" and plans["dev"].of_type(JOB) == []


CONTAINER_APPS = {"githubRunners": "container-apps"}


@pytest.mark.parametrize(
    ("stack", "overrides", "message"),
    [
        (
            "staging",
            {"githubRunnerUrl": ""},
            "githubRunnerUrl is unset: is required when githubRunners is 'container-apps'",
        ),
        (
            "staging",
            {"githubAppId": ""},
            "githubAppId is unset: is required when githubRunners is 'container-apps'",
        ),
        (
            "staging",
            {"githubAppInstallationId": ""},
            "githubAppInstallationId is unset: is required when githubRunners is 'container-apps'",
        ),
        (
            "staging",
            {"githubRunnerUrl": "https://github.com/contoso/"},
            "githubRunnerUrl = 'https://github.com/contoso/'",
        ),
        (
            "staging",
            {"githubRunnerUrl": "http://github.com/contoso"},
            "githubRunnerUrl = 'http://github.com/contoso'",
        ),
        ("staging", {"githubAppId": "app-1"}, "githubAppId = 'app-1': String should match"),
        ("staging", {"githubRunnerMaxExecutions": "0"}, "githubRunnerMaxExecutions = '0'"),
        (
            "staging",
            {"githubRunnerGroup": "mlops-staging"},
            "githubRunnerGroup = 'mlops-staging': has no effect unless githubRunners is 'private-networking' "
            "(it is 'container-apps')",
        ),
        (
            "staging",
            {"githubRunners": "self-hosted"},
            "githubRunners = 'self-hosted': Input should be 'none'",
        ),
        (
            "staging",
            {"githubRunners": "none"},
            "githubRunnerUrl = 'https://github.com/contoso': has no effect unless",
        ),
        (
            "dev",
            {
                **CONTAINER_APPS,
                "githubRunnerUrl": "https://github.com/contoso",
                "githubAppId": "1",
                "githubAppInstallationId": "2",
            },
            f"{PROJECT}:githubRunners = 'container-apps': must be 'none' when networkProfile is 'public'",
        ),
    ],
)
def test_bad_runner_settings_fail_naming_the_key_before_anything_is_declared(
    stack: str, overrides: dict[str, str], message: str
) -> None:
    plan = Plan(stack=stack)
    with pytest.raises(InvalidStackConfig) as raised:
        run_program(stack, stack_config(stack, **overrides), into=plan)
    assert message in str(raised.value)
    assert plan.resources == []


def test_a_vnet_without_an_eighth_slash_24_is_refused_naming_it() -> None:
    with pytest.raises(ValueError) as raised:
        subnets("10.60.0.0/22", runner_jobs=True)
    assert "no eighth /24 for the github-runner-jobs subnet; use a /21 or larger" in str(raised.value)
    assert subnets("10.60.0.0/21", runner_jobs=True)[-1].name == CONTAINER_APPS_RUNNERS_SUBNET


@pytest.mark.parametrize(
    ("url", "scope", "metadata"),
    [
        ("https://github.com/contoso", RunnerScope("contoso", None), {"runnerScope": "org"}),
        (
            "https://github.com/contoso/churn-model",
            RunnerScope("contoso", "churn-model"),
            {"runnerScope": "repo", "repos": "churn-model"},
        ),
    ],
)
def test_an_organization_or_repository_url_is_the_scalers_scope(
    url: str, scope: RunnerScope, metadata: dict[str, str]
) -> None:
    """KEDA's scaler: runnerScope `org` or `repo`, `repos` naming the repository for the latter
    (https://keda.sh/docs/latest/scalers/github-runner/)."""
    assert RunnerScope.from_url(url) == scope
    found = scope.scaler_metadata(labels="l", app_id="1", installation_id="2")
    assert {k: found[k] for k in metadata} == metadata and ("repos" in found) == ("repos" in metadata)


def test_the_component_args_refuse_a_url_or_size_github_and_azure_would_refuse() -> None:
    args: dict[str, Any] = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "environment_name": "cae",
        "job_name": "caj",
        "identity_name": "id",
        "subnet_id": "subnet",
        "key_vault_id": "kv",
        "key_vault_name": "kv",
        "app_key_secret_name": "key",
        "container_registry_id": "cr",
        "registry_login_server": "cr.azurecr.io",
        "app_id": "1",
        "installation_id": "2",
        "label": "l",
        "subscription_id": "s",
        "stack_suffix": "x",
        "tags": {},
    }
    with pytest.raises(
        ValueError, match=r"github runner URL 'https://gitlab.com/x': must be https://github.com/"
    ):
        GitHubRunnerJobsArgs(github_url="https://gitlab.com/x", max_executions=2, **args)
    with pytest.raises(ValueError, match=r"GitHubRunnerJobsArgs.max_executions = 51: must be from 1 to 50"):
        GitHubRunnerJobsArgs(github_url="https://github.com/x", max_executions=51, **args)
    assert (
        GitHubRunnerJobsArgs(github_url="https://github.com/x", max_executions=50, **args).max_executions
        == 50
    )
