"""Bad stack configuration is rejected before any resource is declared, with a message naming the key."""

from __future__ import annotations

import pytest

from infra.config import StackConfig, parse_stack_config
from infra.errors import InvalidStackConfig
from infra.plan.engine import Plan, run_program
from tests.infra.conftest import stack_config

VALID = {
    "environment": "dev",
    "owner": "ml-platform",
    "costCenter": "CC-1001",
    "networkProfile": "public",
    "containerRegistrySku": "Basic",
}

BAD_INPUTS = [
    # (case, overrides, text the error must contain)
    ("unknown region", {"location": "moonbase1"}, "azure-mlops:location = 'moonbase1': must be one of"),
    (
        "GPU cluster size without a known GPU count",
        {"gpuClusterVmSize": "Standard_NC6s_v3"},
        "azure-mlops:gpuClusterVmSize = 'Standard_NC6s_v3': 'Standard_NC6s_v3' is not a GPU size this platform "
        "knows the GPU count of: one of ['Standard_NC4as_T4_v3'",
    ),
    ("environment too long", {"environment": "production"}, "azure-mlops:environment = 'production'"),
    ("environment bad characters", {"environment": "Dev_1"}, "azure-mlops:environment = 'Dev_1'"),
    ("workload bad characters", {"workload": "ml-ops"}, "azure-mlops:workload = 'ml-ops'"),
    ("workload too long", {"workload": "machinelearning"}, "azure-mlops:workload = 'machinelearning'"),
    (
        "max nodes below min",
        {"environment": "prod", "cpuClusterMinNodes": "3", "cpuClusterMaxNodes": "2"},
        "azure-mlops:cpuClusterMaxNodes = 2: must not be below cpuClusterMinNodes (3)",
    ),
    (
        "min nodes outside prod",
        {"cpuClusterMinNodes": "1"},
        "azure-mlops:cpuClusterMinNodes = 1: must be 0 outside prod",
    ),
    ("negative idle time", {"cpuClusterIdleSeconds": "-5"}, "azure-mlops:cpuClusterIdleSeconds = '-5'"),
    ("unknown storage SKU", {"storageSku": "Premium_Fast"}, "azure-mlops:storageSku = 'Premium_Fast'"),
    ("unknown registry SKU", {"containerRegistrySku": "Gold"}, "azure-mlops:containerRegistrySku = 'Gold'"),
    (
        "malformed object ID",
        {"dataScientistGroupId": "not-a-guid"},
        "azure-mlops:dataScientistGroupId = 'not-a-guid'",
    ),
    (
        "malformed user object ID",
        {"computeInstanceUsers": '["1234"]'},
        "azure-mlops:computeInstanceUsers.0 = '1234'",
    ),
    (
        "repeated users",
        {
            "computeInstanceUsers": '["11111111-1111-1111-1111-111111111111",'
            ' "11111111-1111-1111-1111-111111111111"]'
        },
        "must not repeat entries",
    ),
    (
        "users not a list",
        {"computeInstanceUsers": "11111111-1111"},
        "azure-mlops:computeInstanceUsers = '11111111-1111': must be a list",
    ),
    (
        "private without Premium registry",
        {"networkProfile": "private"},
        "azure-mlops:containerRegistrySku = 'Basic': must be 'Premium' when networkProfile is 'private'",
    ),
    (
        "private with managed network off",
        {
            "networkProfile": "private",
            "containerRegistrySku": "Premium",
            "managedNetworkIsolation": "Disabled",
        },
        "azure-mlops:managedNetworkIsolation = 'Disabled'",
    ),
    ("retention too short", {"logRetentionDays": "7"}, "azure-mlops:logRetentionDays = '7'"),
    (
        "bad container name",
        {"dataLakeContainers": '["Raw_Data"]'},
        "azure-mlops:dataLakeContainers.0 = 'Raw_Data'",
    ),
    (
        "no containers",
        {"dataLakeContainers": "[]"},
        "azure-mlops:dataLakeContainers = []: must list at least one",
    ),
    ("bad VM size", {"cpuClusterVmSize": "DS3_v2"}, "azure-mlops:cpuClusterVmSize = 'DS3_v2'"),
    (
        "idle shutdown too short",
        {"computeInstanceIdleMinutes": "5"},
        "azure-mlops:computeInstanceIdleMinutes = '5'",
    ),
    (
        "misspelled key",
        {"cpuClusterMaxNode": "4"},
        "azure-mlops:cpuClusterMaxNode: is not a configuration key",
    ),
    (
        "not a boolean",
        {"cpuClusterLowPriority": "sometimes"},
        "azure-mlops:cpuClusterLowPriority = 'sometimes'",
    ),
]


@pytest.mark.parametrize(
    ("case", "overrides", "expected"), BAD_INPUTS, ids=[case for case, _, _ in BAD_INPUTS]
)
def test_bad_config_is_rejected_naming_the_key(case: str, overrides: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        parse_stack_config({**VALID, **overrides})
    assert expected in str(raised.value), f"{case}: message was\n{raised.value}"


def test_missing_required_keys_are_each_named() -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        parse_stack_config({})
    message = str(raised.value)
    for key in ("environment", "owner", "costCenter"):
        assert f"azure-mlops:{key}: is required" in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        parse_stack_config({**VALID, "location": "mars", "storageSku": "Cheap", "logRetentionDays": "1"})
    lines = [line for line in str(raised.value).splitlines() if line.startswith("  - ")]
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("case", "overrides", "expected"), BAD_INPUTS[:12], ids=[c for c, _, _ in BAD_INPUTS[:12]]
)
def test_bad_config_declares_no_resource(case: str, overrides: dict[str, str], expected: str) -> None:
    plan = Plan(stack="dev")
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("dev", stack_config("dev", **overrides), into=plan)
    assert expected in str(raised.value)
    assert plan.resources == [], f"{case}: resources were declared before validation failed"


def test_valid_values_arrive_as_pulumi_strings_and_are_typed() -> None:
    config = parse_stack_config(
        {
            **VALID,
            "cpuClusterMaxNodes": "6",
            "cpuClusterLowPriority": "true",
            "dataLakeContainers": '["raw", "gold"]',
            "gpuClusterVmSize": "",
        }
    )
    assert config.cpu_cluster_max_nodes == 6
    assert config.cpu_cluster_low_priority is True
    assert config.data_lake_containers == ("raw", "gold")
    assert config.gpu_cluster_vm_size is None


def test_defaults_are_the_secure_choices() -> None:
    # The private profile (the default) needs what only the user knows about its agent pool.
    config = StackConfig(
        environment="prod",
        owner="team",
        cost_center="CC-1",
        agent_pool_organization_url="https://dev.azure.com/contoso",
        agent_pool_projects=("mlops",),
        dev_ops_infrastructure_principal_id="3e1b6a2c-4d5f-4a7b-8c9d-0e1f2a3b4c5d",
    )
    assert config.network_profile == "private"
    assert config.managed_network_isolation == "AllowOnlyApprovedOutbound"
    assert config.container_registry_sku == "Premium"
    assert config.protect_stateful_resources is True
    assert config.cpu_cluster_min_nodes == 0
