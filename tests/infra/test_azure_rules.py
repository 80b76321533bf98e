"""Azure's own rules that no schema checks, each test citing the Microsoft page it encodes.

Batch endpoints behind a managed network, data roles on storage that refuses shared keys, grants Azure ML
makes itself, the network path to a private Azure ML registry, and Azure DevOps' published address ranges.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

import infra.aml_registry
from infra.access_policy import AZURE_ML_ASSIGNS
from infra.components.access import AccessControlArgs, Grant
from infra.config import parse_stack_config
from infra.errors import InvalidStackConfig
from infra.managed_outbound import batch_endpoint_rules
from infra.plan.engine import Plan, mock_principal_id, run_program
from infra.private_profile import AZURE_DEVOPS_RANGES, AZURE_DEVOPS_RANGES_READ, AZURE_DEVOPS_RANGES_SOURCE
from infra.roles import BuiltInRole
from tests.infra.conftest import REPO, STACKS, config_of, registry_resources, stack_config

ASSIGNMENT = "azure-native:authorization:RoleAssignment"
AML_REGISTRY = "azure-native:machinelearningservices:Registry"
GROUP = "11111111-2222-4333-8444-555555555555"
DEPLOYER = "99999999-8888-4777-a666-555555555555"
USER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
OTHER_SUBSCRIPTION = "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a"


def _rules(plan: Plan) -> set[tuple[str, str]]:
    """(target ARM ID, sub-resource) of the workspace managed network's private endpoint outbound rules."""
    network = plan.one("azure-native:machinelearningservices:Workspace").inputs["managedNetwork"]
    return {
        (rule["destination"]["serviceResourceId"], rule["destination"]["subresourceTarget"])
        for rule in (network.get("outboundRules") or {}).values()
        if rule["type"] == "PrivateEndpoint"
    }


def _assignments(plan: Plan) -> set[tuple[str, str, str]]:
    """(principal, role GUID, scope) of every role assignment."""
    return {
        (r.inputs["principalId"], r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
        for r in plan.of_type(ASSIGNMENT)
    }


def test_batch_endpoints_reach_the_workspace_storage_queue_and_table_through_the_managed_network(
    plans: dict[str, Plan],
) -> None:
    """Batch endpoints (and ParallelRunStep) under a managed network need private endpoint outbound rules to the
    default storage's `queue` and `table` sub-resources; Azure adds only blob and file itself:
    https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#scenario-use-batch-endpoints-or-parallelrunstep
    and the batch endpoint page names all four as required
    (https://learn.microsoft.com/azure/machine-learning/how-to-secure-batch-endpoint)."""
    for stack in ("staging", "prod"):
        storage = plans[stack].named("workspace-storage-account").resource_id
        assert {(storage, "queue"), (storage, "table")} <= _rules(plans[stack]), stack
    # dev: public storage and internet outbound, the public endpoints serve; a private endpoint would only cost.
    dev_storage = plans["dev"].named("workspace-storage-account").resource_id
    assert not {rule for rule in _rules(plans["dev"]) if rule[0] == dev_storage}
    # Public storage under AllowOnlyApprovedOutbound is unreachable without them, too.
    public_locked = parse_stack_config(
        {"environment": "dev", "owner": "team", "costCenter": "CC-1", "networkProfile": "public"}
    )
    assert public_locked.managed_network_isolation == "AllowOnlyApprovedOutbound"
    assert {e.subresource for e in batch_endpoint_rules(public_locked, "storage-id").values()} == {
        "queue",
        "table",
    }


def test_batch_jobs_and_their_invoker_get_queue_and_table_data_roles(plans: dict[str, Plan]) -> None:
    """With shared keys off, ParallelRunStep (what batch deployments run) needs Storage Table Data Contributor
    and Storage Queue Data Contributor on the workspace storage: the PRS row of
    https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage#scenarios-for-role-assignments
    """
    batch = {
        BuiltInRole.STORAGE_QUEUE_DATA_CONTRIBUTOR.value,
        BuiltInRole.STORAGE_TABLE_DATA_CONTRIBUTOR.value,
    }
    plan = run_program("staging", stack_config("staging", deployerPrincipalId=DEPLOYER))
    storage = plan.named("workspace-storage-account").resource_id
    cluster = next(
        c
        for c in plan.of_type("azure-native:machinelearningservices:Compute")
        if c.name.endswith("cpu-cluster")
    )
    for principal in (mock_principal_id(cluster.resource_id), DEPLOYER):
        roles = {role for who, role, scope in _assignments(plan) if who == principal and scope == storage}
        assert batch <= roles, principal
    for stack in STACKS:  # every stack's clusters
        assert (
            sum(
                r.name.endswith(("-storage-queue", "-storage-table"))
                for r in plans[stack].of_type(ASSIGNMENT)
            )
            == 2
        )


def test_notebook_and_compute_instance_users_get_the_file_share_role(tmp_path: Path) -> None:
    """Compute instances, Studio notebooks and the notebooks' file explorer use the user's identity and need
    Storage File Data Privileged Contributor on the workspace storage; datastores need Storage Blob Data
    Contributor: https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage#scenarios-for-role-assignments
    """
    plan = run_program(
        "dev", stack_config("dev", dataScientistGroupId=GROUP, computeInstanceUsers=f'["{USER}"]')
    )
    storage = plan.named("workspace-storage-account").resource_id
    file_role = BuiltInRole.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR.value
    blob_role = BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR.value
    for principal in (GROUP, USER):
        roles = {role for who, role, scope in _assignments(plan) if who == principal and scope == storage}
        assert roles >= {file_role, blob_role}, principal
    kinds = {r.inputs["principalId"]: r.inputs["principalType"] for r in plan.of_type(ASSIGNMENT)}
    assert (kinds[GROUP], kinds[USER]) == ("Group", "User")


def test_the_stack_never_assigns_what_azure_ml_assigns_the_workspace_identity_itself(
    plans: dict[str, Plan],
) -> None:
    """An identity-based workspace's managed identity "is automatically assigned the permissions it needs to
    access the storage account" when Azure ML creates the workspace
    (https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage#create-a-new-workspace):
    the same (principal, role, scope) assigned again under another name fails with 409 RoleAssignmentExists, so
    the stack leaves those to Azure ML."""
    assert {(who, scope) for who, _, scope in AZURE_ML_ASSIGNS} == {
        ("workspace identity", "workspace storage")
    }
    owned_by_azure = {role.value for _, role, _ in AZURE_ML_ASSIGNS}
    for stack in STACKS:
        plan = plans[stack]
        identity = mock_principal_id(plan.one("azure-native:machinelearningservices:Workspace").resource_id)
        storage = plan.named("workspace-storage-account").resource_id
        mine = {role for who, role, scope in _assignments(plan) if who == identity and scope == storage}
        assert not mine & owned_by_azure, stack
        # The workspace identity keeps the grants Azure ML does not make: the lake, the vault, image pushes.
        assert {scope for who, _, scope in _assignments(plan) if who == identity} >= {
            plan.named("data-lake-account").resource_id,
            plan.one("azure-native:keyvault:Vault").resource_id,
        }, stack


def test_a_second_assignment_of_the_same_role_on_the_same_scope_is_refused_before_deploying() -> None:
    grant = {"principal_id": DEPLOYER, "principal_type": "ServicePrincipal", "role": BuiltInRole.ACR_PULL}
    with pytest.raises(ValueError, match=r"'b' repeats 'a'.*409 RoleAssignmentExists") as refused:
        AccessControlArgs(
            subscription_id="s",
            stack_suffix="x",
            grants=(Grant(key="a", scope="/scope", **grant), Grant(key="b", scope="/SCOPE", **grant)),
        )
    assert DEPLOYER in str(refused.value)


# --- the Azure ML registry -------------------------------------------------------------------------------------


def test_every_stack_names_the_registry_its_owner_creates(plans: dict[str, Plan]) -> None:
    """Consumers derive the registry from Pulumi.prod.yaml and infra/naming.py: what they export is what prod creates."""
    registry = plans["prod"].one(AML_REGISTRY)
    for stack in STACKS:
        outputs = plans[stack].outputs
        assert (outputs["amlRegistryName"], outputs["amlRegistryId"]) == (
            registry.inputs["registryName"],
            registry.resource_id,
        ), stack
    assert [s for s in STACKS if plans[s].of_type(AML_REGISTRY)] == ["prod"]


def test_every_stack_names_the_agent_pool_inside_the_registry_owners_network(plans: dict[str, Plan]) -> None:
    """A registry with public network access off answers only through its private endpoint, which lives in the
    owner's VNet; the job that shares a model into it (dev's promotion) must run on the owner's agent pool.
    https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation"""
    owner_pool = plans["prod"].outputs["agentPoolName"]
    assert owner_pool, "prod is private: it has an agent pool"
    for stack in STACKS:
        assert plans[stack].outputs["amlRegistryAgentPoolName"] == owner_pool, stack


def _copy_stack_files(root: Path, edits: dict[str, dict[str, object]]) -> Path:
    """The committed Pulumi.yaml and stack files under `root`, with `edits` (stack -> key -> value) applied."""
    for path in REPO.glob("Pulumi*.yaml"):
        shutil.copy(path, root / path.name)
    for stack, values in edits.items():
        path = root / f"Pulumi.{stack}.yaml"
        document = yaml.safe_load(path.read_text())
        document["config"].update({f"azure-mlops:{key}": value for key, value in values.items()})
        path.write_text(yaml.safe_dump(document))
    return root


def test_renaming_the_owner_renames_the_registry_every_consumer_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        infra.aml_registry, "REPO_ROOT", _copy_stack_files(tmp_path, {"prod": {"workload": "fraud"}})
    )
    dev = run_program("dev", stack_config("dev"))
    assert dev.outputs["amlRegistryName"].startswith("mlr-fraud-")
    assert dev.outputs["amlRegistryAgentPoolName"].startswith("mdp-fraud-prod-")
    assert "/resourceGroups/rg-fraud-prod-we/" in dev.outputs["amlRegistryId"]


def test_an_owner_that_creates_no_registry_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidStackConfig, match=r"amlRegistryOwnerStack = 'staging'") as refused:
        run_program("dev", stack_config("dev", amlRegistryOwnerStack="staging"))
    assert "Pulumi.staging.yaml must set createAmlRegistry: true" in str(refused.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amlRegistryOwnerStack": "staging"}, "must be unset when createAmlRegistry is true"),
        ({"amlRegistrySubscriptionId": OTHER_SUBSCRIPTION}, "is used only with amlRegistryOwnerStack"),
    ],
)
def test_registry_keys_that_contradict_each_other_are_refused(
    overrides: dict[str, str], message: str
) -> None:
    values = {"environment": "prod", "owner": "team", "costCenter": "CC-1", "createAmlRegistry": "true"}
    with pytest.raises(InvalidStackConfig) as refused:
        parse_stack_config({**values, **overrides})
    assert message in str(refused.value)
    assert f"azure-mlops:{next(iter(overrides))}" in str(refused.value)


def test_workspaces_reach_the_registry_its_storage_and_its_acr_through_managed_private_endpoints(
    plans: dict[str, Plan],
) -> None:
    """A workspace using a registry's assets with the registry's public access off needs private endpoints to
    the registry, its storage and its ACR (https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation);
    a managed network makes them as private endpoint outbound rules, registries being a supported target
    (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#private-endpoints)."""
    registry = plans["prod"].one(AML_REGISTRY)
    assert registry.inputs["publicNetworkAccess"] == "Disabled"
    storage, acr = registry_resources(plans["prod"])
    expected = {(registry.resource_id, "amlregistry"), (storage, "blob"), (acr, "registry")}
    for stack in STACKS:
        assert expected <= _rules(plans[stack]), stack


def test_the_owners_vnet_reaches_the_registry_its_storage_and_its_acr(plans: dict[str, Plan]) -> None:
    """Clients in the VNet (the agents that share models) need private endpoints to the registry and to the
    storage and ACR it uses: https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation"""
    plan = plans["prod"]
    storage, acr = registry_resources(plan)
    found = set()
    for endpoint in plan.of_type("azure-native:network:PrivateEndpoint"):
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        found.add((connection["privateLinkServiceId"], *connection["groupIds"]))
    assert {
        (plan.one(AML_REGISTRY).resource_id, "amlregistry"),
        (storage, "blob"),
        (acr, "registry"),
    } <= found


def test_the_first_pulumi_up_of_each_stack_in_pipeline_order_works() -> None:
    """dev and staging deploy before prod creates the registry (pipelines/azure-pipelines/infra.yml): their first
    run exports the registry's derived name, reaches for nothing that does not exist yet (a managed private
    endpoint or a role assignment on a missing resource fails), and the next run wires the path."""
    stages = [
        s["stage"]
        for s in yaml.safe_load((REPO / "pipelines/azure-pipelines/infra.yml").read_text())["stages"]
    ]
    deploys = [s.removeprefix("Deploy_") for s in stages if s.startswith("Deploy_")]
    assert deploys == ["dev", "staging", "prod"]
    derived, created = {}, []
    for stack in deploys:
        first = run_program(stack, stack_config(stack), aml_registry_exists=False)
        if config_of(stack).create_aml_registry:
            created.append(first.one(AML_REGISTRY).resource_id)
            continue
        derived[stack] = first.outputs["amlRegistryId"]
        assert first.outputs["amlRegistryName"] == derived[stack].rsplit("/", 1)[-1], stack
        assert not [
            t for t, _ in _rules(first) if "MachineLearningServices/registries/" in t or "azureml-rg-" in t
        ], stack
        assert not [a for a in _assignments(first) if "MachineLearningServices/registries/" in a[2]], stack
    # prod, last, creates the very registry the earlier stacks already named.
    assert created and set(derived.values()) == set(created)


def test_the_owner_grants_registry_user_to_every_consumers_deployer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AzureML Registry User is the least role Microsoft names for creating assets in a registry (owner and
    contributor being the others): https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation
    The owner makes every grant (it runs last, once the registry exists); a deployer shared by several stacks
    is granted once: a second assignment would be a 409."""
    other = "12121212-3434-4565-8787-909090909090"
    root = _copy_stack_files(
        tmp_path, {"dev": {"deployerPrincipalId": DEPLOYER}, "staging": {"deployerPrincipalId": other}}
    )
    monkeypatch.setattr(infra.aml_registry, "REPO_ROOT", root)
    prod = run_program(
        "prod", stack_config("prod", deployerPrincipalId=DEPLOYER, amlRegistryUserIds=f'["{other}"]')
    )
    registry = prod.one(AML_REGISTRY).resource_id
    user = BuiltInRole.AZUREML_REGISTRY_USER.value
    on_registry = [(who, role) for who, role, scope in _assignments(prod) if scope == registry]
    workspace = mock_principal_id(prod.one("azure-native:machinelearningservices:Workspace").resource_id)
    assert sorted(on_registry) == sorted([(DEPLOYER, user), (other, user), (workspace, user)])
    staging = run_program("staging", stack_config("staging", deployerPrincipalId=other))
    assert not [a for a in _assignments(staging) if "MachineLearningServices/registries/" in a[2]]


def test_a_registry_in_another_subscription_is_named_and_read_there() -> None:
    plan = run_program("staging", stack_config("staging", amlRegistrySubscriptionId=OTHER_SUBSCRIPTION))
    registry_id = plan.outputs["amlRegistryId"]
    assert registry_id.startswith(f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/rg-mlops-prod-we/")
    # The suffix of a globally unique name comes from the owner's subscription, not this stack's.
    assert (
        plan.outputs["amlRegistryName"]
        != run_program("staging", stack_config("staging")).outputs["amlRegistryName"]
    )
    assert (registry_id, "amlregistry") in _rules(plan)
    (provider,) = plan.of_type("pulumi:providers:azure-native")
    assert provider.inputs["subscriptionId"] == OTHER_SUBSCRIPTION


# --- Azure DevOps ------------------------------------------------------------------------------------------------


def test_agents_are_allowed_the_ranges_azure_devops_publishes_for_outbound_connections() -> None:
    """Azure DevOps lists 150.171.22.0/24, 150.171.23.0/24 and 150.171.73.0/24 to 150.171.76.0/24 for outbound
    connections on 443, and service tags are not supported for outbound connections:
    https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url"""
    assert (
        "150.171.22.0/24",
        "150.171.23.0/24",
        *(f"150.171.{octet}.0/24" for octet in range(73, 77)),
    ) == AZURE_DEVOPS_RANGES
    assert (
        AZURE_DEVOPS_RANGES_SOURCE
        == "https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url"
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", AZURE_DEVOPS_RANGES_READ)
    docs = (REPO / "docs/private-profile.md").read_text()
    assert AZURE_DEVOPS_RANGES_SOURCE in docs and AZURE_DEVOPS_RANGES_READ in docs
