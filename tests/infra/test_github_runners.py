"""GitHub-hosted runners with Azure private networking: a private stack that opts in gets a `github-runners` subnet
delegated to GitHub.Network/networkSettings, GitHub's NSG rules, and the networkSettings resource (declared through
an ARM deployment: azure-native has no GitHub.Network type), and exports the runner group workflows select.

The committed private stacks are in westeurope, where GitHub offers no private networking, so they use the
container-apps runners instead (tests/infra/test_github_runner_jobs.py); these tests move staging to northeurope. The workflows' side: tests/pipelines/test_stack_variables.py and
tests/templates; the twin's: tests/twin/test_github_runners_in_twin.py.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from infra.components.github_runners import (
    NETWORK_SETTINGS_API_VERSION,
    NETWORK_SETTINGS_TYPE,
    GitHubRunnerNetworkArgs,
    network_settings_template,
)
from infra.config import PROJECT
from infra.errors import InvalidStackConfig
from infra.plan.engine import Plan, run_program
from infra.private_profile import (
    GITHUB_RUNNERS_DELEGATION,
    GITHUB_RUNNERS_SUBNET,
    GITHUB_RUNNERS_SUBNET_INDEX,
    subnets,
)
from infra.regions import GITHUB_PRIVATE_NETWORKING_REGIONS
from tests.infra.conftest import config_of, stack_config

DEPLOYMENT = "azure-native:resources:Deployment"
OPT_IN = {
    "location": "northeurope",
    "githubRunners": "private-networking",
    "githubRunnerUrl": "",
    "githubAppId": "",
    "githubAppInstallationId": "",
    "githubRunnerBusinessId": "123456789",
    "githubRunnerGroup": "mlops-staging",
}
ABOUT = (
    "https://docs.github.com/en/organizations/managing-organization-settings/"
    "about-azure-private-networking-for-github-hosted-runners-in-your-organization"
)


@pytest.fixture(scope="module")
def opted_in() -> Plan:
    """staging, moved to a region GitHub supports, with GitHub runners."""
    return run_program("staging", stack_config("staging", **OPT_IN))


def _subnet(plan: Plan, name: str) -> dict[str, Any]:
    (subnet,) = [
        s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"] if s["name"] == name
    ]
    return subnet


def test_the_runners_subnet_is_the_seventh_slash_24_delegated_to_github_network(opted_in: Plan) -> None:
    """GitHub's runners join a subnet delegated to GitHub.Network/networkSettings, in the networkSettings
    resource's region and subscription (https://docs.github.com/en/organizations/managing-organization-settings/configuring-private-networking-for-github-hosted-runners-in-your-organization)."""
    subnet = _subnet(opted_in, GITHUB_RUNNERS_SUBNET)
    assert subnet["delegations"] == [
        {"name": GITHUB_RUNNERS_SUBNET, "serviceName": GITHUB_RUNNERS_DELEGATION}
    ]
    blocks = list(ipaddress.ip_network(config_of("staging").vnet_address_space).subnets(new_prefix=24))
    assert subnet["addressPrefix"] == str(blocks[GITHUB_RUNNERS_SUBNET_INDEX]) == str(blocks[6])
    nat = opted_in.one("azure-native:network:NatGateway").resource_id
    assert subnet["natGateway"] == {"id": nat} and subnet["defaultOutboundAccess"] is False
    # Every other subnet stays where it was: opting in moves nothing.
    before = {s.name: s.address_prefix for s in subnets("10.42.0.0/16", lifecycle=True, agents=True)}
    after = {
        s.name: s.address_prefix
        for s in subnets("10.42.0.0/16", lifecycle=True, agents=True, github_runners=True)
    }
    assert {k: v for k, v in after.items() if k != GITHUB_RUNNERS_SUBNET} == before


def test_runners_reach_the_vnet_storage_and_https_and_nothing_connects_to_them(opted_in: Plan) -> None:
    (
        """GitHub's minimal NSG for runners in a VNet: HTTPS to the VNet, to GitHub (Actions service, github.com) and to
    Azure Storage, the internet denied otherwise
    (https://docs.github.com/en/organizations/managing-organization-settings/configuring-private-networking-for-github-hosted-runners-in-your-organization);
    GitHub never connects in, and recommends blocking all inbound connections ("""
        + ABOUT
        + """)."""
    )
    nsg = opted_in.by_id(_subnet(opted_in, GITHUB_RUNNERS_SUBNET)["networkSecurityGroup"]["id"])
    rules = {rule["name"]: rule for rule in nsg.inputs["securityRules"]}
    allowed_out = sorted(
        (r.get("destinationAddressPrefix"), r.get("destinationPortRange"))
        for r in rules.values()
        if r["access"] == "Allow" and r["direction"] == "Outbound"
    )
    assert allowed_out == [("Internet", "443"), ("Storage", "443"), ("VirtualNetwork", "443")]
    deny = rules["deny-internet"]
    assert (
        deny["access"],
        deny["direction"],
        deny["destinationAddressPrefix"],
        deny["destinationPortRange"],
    ) == (
        "Deny",
        "Outbound",
        "Internet",
        "*",
    )
    assert all(r["priority"] < deny["priority"] for r in rules.values() if r["access"] == "Allow")
    assert not [r for r in rules.values() if r["direction"] == "Inbound" and r["access"] == "Allow"]
    assert rules["deny-other-inbound"]["sourceAddressPrefix"] == "*"


def test_the_network_settings_resource_binds_the_organization_to_the_subnet(opted_in: Plan) -> None:
    (
        """The networkSettings resource takes the GitHub organization's database ID (`businessId`) and the delegated
    subnet's ID, in the VNet's subscription and region; Azure tags it with the `GitHubId` the organization admin
    enters in GitHub ("""
        + ABOUT
        + """)."""
    )
    deployment = opted_in.one(DEPLOYMENT)
    body = deployment.inputs["properties"]
    # Incremental leaves the group's other resources alone; Complete would delete them all
    # (https://learn.microsoft.com/azure/azure-resource-manager/templates/deployment-modes).
    assert body["mode"] == "Incremental"
    assert body["template"] == network_settings_template()
    (resource,) = body["template"]["resources"]
    assert (resource["type"], resource["apiVersion"]) == (NETWORK_SETTINGS_TYPE, NETWORK_SETTINGS_API_VERSION)
    parameters = {key: value["value"] for key, value in body["parameters"].items()}
    vnet = opted_in.one("azure-native:network:VirtualNetwork")
    assert parameters["subnetId"] == f"{vnet.resource_id}/subnets/{GITHUB_RUNNERS_SUBNET}"
    assert parameters["businessId"] == OPT_IN["githubRunnerBusinessId"]
    assert parameters["location"] == vnet.inputs["location"] == "northeurope"
    assert deployment.resource_id.split("/")[2] == vnet.resource_id.split("/")[2]  # same subscription
    assert set(parameters) == set(body["template"]["parameters"])
    # Created after the VNet (its subnets inline, with their NSGs): the delegation is in place when GitHub links it.
    assert vnet.name in deployment.dependencies


def test_the_outputs_name_the_runner_group_and_the_github_id(opted_in: Plan) -> None:
    """The GitHubId is a tag Azure sets on the resource: `reference(<id>, <api>, 'Full')` returns the whole resource
    object, tags included (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-resource)."""
    settings_id = opted_in.outputs["githubNetworkSettingsId"]
    assert opted_in.outputs["githubRunnerGroup"] == OPT_IN["githubRunnerGroup"]
    assert opted_in.outputs["githubRunsOn"] == {"group": OPT_IN["githubRunnerGroup"]}
    assert len(settings_id) == 64 and settings_id == settings_id.upper()
    # The outputs come from the template's outputs, as Azure reports them after the deployment.
    outputs = network_settings_template()["outputs"]
    assert outputs["gitHubId"]["value"].endswith(".tags.GitHubId]")
    assert "'Full'" in outputs["gitHubId"]["value"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_committed_stacks_have_no_github_networking_and_export_empty_names(
    plans: dict[str, Plan], stack: str
) -> None:
    """dev is public; staging and prod are in westeurope, which GitHub's private networking does not serve."""
    plan = plans[stack]
    assert plan.of_type(DEPLOYMENT) == []
    assert GITHUB_RUNNERS_SUBNET not in {
        s["name"] for r in plan.of_type("azure-native:network:VirtualNetwork") for s in r.inputs["subnets"]
    }
    assert (plan.outputs["githubRunnerGroup"], plan.outputs["githubNetworkSettingsId"]) == ("", "")


def test_consumers_name_the_registry_owners_runner_group() -> None:
    """dev shares into prod's registry: with prod's runners in its VNet, dev exports prod's group for the share job."""
    from infra.aml_registry import registry_ref
    from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID

    owner = config_of("prod").model_copy(
        update={
            "location": "northeurope",
            "github_runners": "private-networking",
            "github_runner_business_id": "1",
            "github_runner_group": "mlops-prod",
        }
    )
    assert owner.github_private_networking
    ref = registry_ref(owner, stack="prod", subscription_id=DEFAULT_SUBSCRIPTION_ID)
    assert ref is not None and ref.github_runs_on == {"group": "mlops-prod"}


NETWORKING = {"githubRunners": "private-networking", "githubRunnerUrl": "", "githubAppId": ""}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {**NETWORKING, "githubRunnerGroup": "mlops-staging"},
            "githubRunnerBusinessId is unset: is required when githubRunners is 'private-networking'",
        ),
        (
            {**NETWORKING, "githubRunnerBusinessId": "123456789"},
            "githubRunnerGroup is unset: is required when githubRunners is 'private-networking'",
        ),
        (
            {**NETWORKING, "githubRunnerBusinessId": "org-1", "githubRunnerGroup": "g"},
            "githubRunnerBusinessId = 'org-1': String should match",
        ),
        (
            {**NETWORKING, "githubRunnerBusinessId": "1", "githubRunnerGroup": "my group"},
            "githubRunnerGroup = 'my group': String should match",
        ),
        (
            {"githubRunnerBusinessId": "1", "githubRunnerGroup": "g"},
            "githubRunnerBusinessId = '1': has no effect unless githubRunners is 'private-networking' "
            "(it is 'container-apps')",
        ),
    ],
)
def test_a_half_or_malformed_opt_in_fails_naming_the_key(overrides: dict[str, str], message: str) -> None:
    plan = Plan(stack="staging")
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("staging", stack_config("staging", location="northeurope", **overrides), into=plan)
    assert message in str(raised.value)
    assert plan.resources == []  # refused before anything is declared


def test_a_region_github_does_not_serve_is_refused_naming_it_and_the_alternative() -> None:
    """GitHub lists the Azure regions where its runners can join a VNet; westeurope is not one
    (https://docs.github.com/en/organizations/managing-organization-settings/troubleshooting-azure-private-network-configurations-for-github-hosted-runners-in-your-organization)."""
    assert (
        "westeurope" not in GITHUB_PRIVATE_NETWORKING_REGIONS
        and "northeurope" in GITHUB_PRIVATE_NETWORKING_REGIONS
    )
    with pytest.raises(InvalidStackConfig) as raised:
        run_program(
            "staging",
            stack_config(
                "staging",
                **NETWORKING,
                githubAppInstallationId="",
                githubRunnerBusinessId="1",
                githubRunnerGroup="g",
            ),
        )
    assert (
        f"{PROJECT}:githubRunners = 'private-networking': needs a location where GitHub-hosted runners can join a "
        "VNet, and location = 'westeurope' is not one (use 'container-apps'" in str(raised.value)
    )


def test_a_public_stack_refuses_runner_keys_that_would_be_ignored() -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("dev", stack_config("dev", githubRunnerGroup="mlops-dev"))
    assert (
        f"{PROJECT}:githubRunnerGroup = 'mlops-dev': has no effect unless githubRunners is 'private-networking'"
        in str(raised.value)
    )


def test_the_component_args_refuse_what_github_would_refuse() -> None:
    args = {
        "resource_group_name": "rg",
        "location": "northeurope",
        "settings_name": "ghns",
        "deployment_name": "deploy-ghns",
        "subnet_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/x",
        "tags": {},
    }
    with pytest.raises(ValueError) as bad_id:
        GitHubRunnerNetworkArgs(business_id="acme", runner_group="g", **args)
    assert "GitHubRunnerNetworkArgs.business_id = 'acme': must be a GitHub database ID" in str(bad_id.value)
    with pytest.raises(ValueError) as no_group:
        GitHubRunnerNetworkArgs(business_id="12", runner_group="", **args)
    assert "GitHubRunnerNetworkArgs.runner_group: must name the runner group" in str(no_group.value)
    assert GitHubRunnerNetworkArgs(business_id="12", runner_group="g", **args).business_id == "12"


def test_a_vnet_too_small_for_the_runners_subnet_is_refused_naming_it() -> None:
    with pytest.raises(ValueError) as raised:
        subnets("10.60.0.0/22", github_runners=True)
    assert "no seventh /24 for the github-runners subnet; use a /21 or larger" in str(raised.value)
    assert subnets("10.60.0.0/21", github_runners=True)[-1].name == GITHUB_RUNNERS_SUBNET
