"""Optional features exist exactly when their settings are supplied: GPU cluster, instances, people."""

from __future__ import annotations

import json

from infra.plan.engine import Plan, run_program
from infra.roles import BuiltInRole
from tests.infra.conftest import stack_config

USERS = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
GROUP = "33333333-3333-3333-3333-333333333333"
DEPLOYER = "44444444-4444-4444-4444-444444444444"


def _computes(plan: Plan, compute_type: str) -> list:
    return [
        c
        for c in plan.of_type("azure-native:machinelearningservices:Compute")
        if c.inputs["properties"]["computeType"] == compute_type
    ]


def _grants(plan: Plan, principal: str) -> set[tuple[str, str]]:
    """(role GUID, scope) of every assignment to `principal`."""
    return {
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == principal
    }


def test_committed_stacks_have_no_gpu_cluster_or_instances(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        assert _computes(plan, "ComputeInstance") == []
        assert [c.inputs["computeName"] for c in _computes(plan, "AmlCompute")] == ["cpu-cluster"]
        assert plan.outputs["gpuClusterName"] == ""
        assert plan.outputs["gpuClusterGpusPerNode"] == 0


def test_a_gpu_cluster_exists_when_its_vm_size_is_set() -> None:
    plan = run_program(
        "prod", stack_config("prod", gpuClusterVmSize="Standard_NC64as_T4_v3", gpuClusterMaxNodes="3")
    )
    gpu = next(c for c in _computes(plan, "AmlCompute") if c.inputs["computeName"] == "gpu-cluster")
    settings = gpu.inputs["properties"]["properties"]
    assert settings["vmSize"] == "Standard_NC64as_T4_v3"
    assert settings["scaleSettings"]["minNodeCount"] == 0
    assert settings["scaleSettings"]["maxNodeCount"] == 3
    assert gpu.inputs["properties"]["disableLocalAuth"] is True
    assert plan.outputs["gpuClusterName"] == "gpu-cluster"
    # The PyTorch projects' process_count_per_instance: the size's 4 T4s (infra/gpu_sizes.py).
    assert plan.outputs["gpuClusterGpusPerNode"] == 4
    # The GPU cluster's identity gets the same data and image roles as the CPU cluster.
    gpu_grants = [
        r.name
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.name.startswith("access-gpu-cluster-")
    ]
    assert sorted(gpu_grants) == [
        "access-gpu-cluster-datalake",
        "access-gpu-cluster-registry-pull",
        "access-gpu-cluster-storage",
        "access-gpu-cluster-storage-queue",
        "access-gpu-cluster-storage-table",
    ]


def test_each_listed_user_gets_a_personal_instance_that_shuts_down_when_idle() -> None:
    plan = run_program(
        "dev", stack_config("dev", computeInstanceUsers=json.dumps(USERS), computeInstanceIdleMinutes="45")
    )
    instances = _computes(plan, "ComputeInstance")
    assert len(instances) == 2
    owners = set()
    for instance in instances:
        compute = instance.inputs["properties"]
        settings = compute["properties"]
        assert compute["disableLocalAuth"] is True
        assert settings["idleTimeBeforeShutdown"] == "PT45M"
        assert settings["sshSettings"]["sshPublicAccess"] == "Disabled"
        assert settings["applicationSharingPolicy"] == "Personal"
        owners.add(settings["personalComputeInstanceSettings"]["assignedUser"]["objectId"])
    assert owners == set(USERS)
    assert sorted(plan.outputs["computeInstanceNames"]) == sorted(i.inputs["computeName"] for i in instances)


def test_people_get_least_privilege_roles_on_single_resources() -> None:
    plan = run_program(
        "staging", stack_config("staging", dataScientistGroupId=GROUP, deployerPrincipalId=DEPLOYER)
    )
    workspace = plan.one("azure-native:machinelearningservices:Workspace").resource_id
    storage = plan.named("workspace-storage-account").resource_id
    lake = plan.named("data-lake-account").resource_id
    expected = {
        (BuiltInRole.AZUREML_DATA_SCIENTIST.value, workspace),
        (BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR.value, storage),
        (BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR.value, lake),
    }
    # Notebooks live on the workspace storage's file share (tests/infra/test_azure_rules.py cites why).
    assert _grants(plan, GROUP) == expected | {
        (BuiltInRole.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR.value, storage)
    }
    # CD also writes each endpoint's diagnostic setting, pointing at the stack's Log Analytics workspace, and
    # invokes batch endpoints, whose jobs keep their bookkeeping in the storage's queues and tables.
    log_analytics = plan.one("azure-native:operationalinsights:Workspace").resource_id
    monitoring = BuiltInRole.MONITORING_CONTRIBUTOR.value
    batch = {
        (BuiltInRole.STORAGE_QUEUE_DATA_CONTRIBUTOR.value, storage),
        (BuiltInRole.STORAGE_TABLE_DATA_CONTRIBUTOR.value, storage),
    }
    # staging runs GitHub runners as a Container Apps job: the deployer pushes its image and stores its App key
    # before the job exists (infra/runner_bootstrap.py).
    runner = {
        (BuiltInRole.KEY_VAULT_SECRETS_OFFICER.value, plan.one("azure-native:keyvault:Vault").resource_id),
        (BuiltInRole.ACR_PUSH.value, plan.one("azure-native:containerregistry:Registry").resource_id),
    }
    assert _grants(plan, DEPLOYER) == expected | batch | runner | {
        (monitoring, workspace),
        (monitoring, log_analytics),
    }
    kinds = {
        r.inputs["principalId"]: r.inputs["principalType"]
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
    }
    assert kinds[GROUP] == "Group"
    assert kinds[DEPLOYER] == "ServicePrincipal"


def test_without_principals_no_person_is_granted_anything(plans: dict[str, Plan]) -> None:
    grants = [r.name for r in plans["prod"].of_type("azure-native:authorization:RoleAssignment")]
    assert not [g for g in grants if g.startswith(("access-data-scientists", "access-deployer"))]


def test_role_assignment_names_are_stable_guids(plans: dict[str, Plan]) -> None:
    again = run_program("prod", stack_config("prod"))
    first = sorted(
        r.inputs["roleAssignmentName"]
        for r in plans["prod"].of_type("azure-native:authorization:RoleAssignment")
    )
    second = sorted(
        r.inputs["roleAssignmentName"] for r in again.of_type("azure-native:authorization:RoleAssignment")
    )
    assert first == second
    assert len(set(first)) == len(first)


def test_registry_users_from_other_stacks_are_granted_registry_user_only() -> None:
    other = "55555555-5555-5555-5555-555555555555"
    plan = run_program(
        "prod", stack_config("prod", deployerPrincipalId=DEPLOYER, amlRegistryUserIds=json.dumps([other]))
    )
    registry = plan.one("azure-native:machinelearningservices:Registry").resource_id
    user_role = BuiltInRole.AZUREML_REGISTRY_USER.value
    assert _grants(plan, other) == {(user_role, registry)}
    assert (user_role, registry) in _grants(plan, DEPLOYER)
