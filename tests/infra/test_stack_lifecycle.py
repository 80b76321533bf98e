"""Rebuilding a destroyed stack, and changes Azure only allows one way, under the mock engine and as pure rules."""

from __future__ import annotations

import pytest

from infra.arm_reads import existing, is_not_found
from infra.config import parse_stack_config
from infra.deployed_state import DeployedWorkspace, refuse_impossible_changes
from infra.errors import InvalidStackConfig, RefusedStackChange
from infra.naming import ResourceNames
from infra.plan.engine import Plan, run_program
from policy.rules.aml import ISOLATION_MODES, encryption_switch, isolation_loosening
from tests.infra.conftest import STACKS, config_of, stack_config

SUBSCRIPTION = "6f1a3c52-0d4e-4b7a-9c1e-2f3a4b5c6d7e"
VAULT = "azure-native:keyvault:Vault"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
RESERVED_AFTER_DELETE = {"key_vault", "ml_workspace", "compute_instance"}
"""The names Azure keeps reserved after deletion: a key vault's, an Azure ML workspace's and its compute
instances' (soft-deleted with the workspace, and unique per region)."""


def _names(generation: int, stack: str = "staging") -> ResourceNames:
    return ResourceNames.for_stack(
        workload="mlops",
        environment=stack,
        location="westeurope",
        subscription_id=SUBSCRIPTION,
        project="azure-mlops",
        stack=stack,
        generation=generation,
    )


def _all_names(names: ResourceNames) -> dict[str, str]:
    """Every name property of `names` (methods that take a key are called with a sample)."""
    found = {
        attr: getattr(names, attr)
        for attr, value in vars(ResourceNames).items()
        if isinstance(value, property) and attr != "generation_suffix"
    }
    found["private_endpoint"] = names.private_endpoint("workspace")
    found["compute_instance"] = names.compute_instance("7c3f2e5a-0d4b-4a8c-9e7f-3a4b5c6d7e8f")
    return found


def test_a_new_generation_renames_exactly_what_azure_keeps_reserved() -> None:
    """A deleted key vault's name stays taken for its retention (7-90 days) and purge protection forbids
    purging it (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview); a soft-deleted
    Azure ML workspace's name cannot be reused for 14 days, and its compute instances are soft-deleted with it
    (https://learn.microsoft.com/azure/machine-learning/concept-soft-delete). A deleted storage account's name is
    free again (recovery then becomes impossible:
    https://learn.microsoft.com/azure/storage/common/storage-account-recover), and a Log Analytics workspace
    re-created under its name in the same resource group is recovered
    (https://learn.microsoft.com/rest/api/loganalytics/workspaces/delete): those keep their names."""
    first, second, third = (_all_names(_names(g)) for g in (0, 1, 2))
    changed = {key for key in first if first[key] != second[key]}
    assert changed == RESERVED_AFTER_DELETE
    assert {key for key in first if second[key] != third[key]} == RESERVED_AFTER_DELETE
    assert len({first["key_vault"], second["key_vault"], third["key_vault"]}) == 3
    assert second["ml_workspace"] == "mlw-mlops-staging-we-g1"


def test_generation_zero_keeps_the_names_stacks_were_built_with() -> None:
    names = _names(0)
    assert names.key_vault == f"kv-mlops-staging-{names.suffix}"
    assert names.ml_workspace == "mlw-mlops-staging-we"
    # Same length in every generation: a name that fitted its limit still fits.
    assert len(_names(9999).key_vault) == len(names.key_vault)


def test_generation_is_validated_as_configuration() -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        parse_stack_config({**_required(), "nameGeneration": "-1"})
    assert "azure-mlops:nameGeneration = '-1': " in str(raised.value)
    assert "greater than or equal to 0" in str(raised.value)


def _required() -> dict[str, str]:
    return {"environment": "pr42", "owner": "ml-platform", "costCenter": "CC-1001"}


def test_a_rebuilt_stack_deploys_under_fresh_reserved_names() -> None:
    """`pulumi destroy` then `pulumi up` the same day: the generation bump is the only change needed."""
    before = run_program("staging", stack_config("staging"))
    after = run_program("staging", stack_config("staging", nameGeneration="1"))
    assert after.outputs["keyVaultName"] != before.outputs["keyVaultName"]
    assert after.outputs["workspaceName"] == "mlw-mlops-staging-we-g1"
    for output in ("storageAccountName", "dataLakeAccountName", "containerRegistryName", "resourceGroupName"):
        assert after.outputs[output] == before.outputs[output], output
    # The workspace is linked to the renamed vault, not to the reserved one.
    assert after.one(WORKSPACE).inputs["keyVault"] == after.one(VAULT).resource_id


def test_every_vault_keeps_soft_delete_and_purge_protection(plans: dict[str, Plan]) -> None:
    """Purge protection cannot be turned off once on
    (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview): unprotected stacks get fresh
    names on rebuild instead of turning it off, so every stack keeps it."""
    for stack in STACKS:
        properties = plans[stack].one(VAULT).inputs["properties"]
        assert properties["enableSoftDelete"] is True and properties["enablePurgeProtection"] is True, stack


def test_protected_stacks_keep_data_through_destroy_and_unprotected_ones_delete_it(
    plans: dict[str, Plan],
) -> None:
    for stack in STACKS:
        protect = config_of(stack).protect_stateful_resources
        for token in (VAULT, WORKSPACE):
            resource = plans[stack].one(token)
            assert (resource.protect, resource.retain_on_delete) == (protect, protect), (stack, token)
    assert (
        config_of("prod").protect_stateful_resources and not config_of("staging").protect_stateful_resources
    )


def test_isolation_only_tightens() -> None:
    """Azure: "Once a managed VNet workspace is configured to allow internet outbound, the workspace cannot be
    reconfigured to disabled. Similarly, once ... configured to allow only approved outbound, the workspace cannot
    be reconfigured to allow internet outbound" (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network)."""
    for i, previous in enumerate(ISOLATION_MODES):
        for j, new in enumerate(ISOLATION_MODES):
            problem = isolation_loosening(previous, new)
            assert (problem is None) == (j >= i), (previous, new)
    assert "loosens" in (isolation_loosening("AllowOnlyApprovedOutbound", None) or "")  # absent is Disabled
    assert isolation_loosening(None, "Disabled") is None  # a new workspace takes any mode


def test_the_key_type_never_switches() -> None:
    """Azure ML encrypts with the customer-managed key given at creation and cannot switch afterwards
    (https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys)."""
    assert encryption_switch(None, True) is None and encryption_switch(True, True) is None
    assert "cannot switch to customer-managed" in (encryption_switch(False, True) or "")
    assert "cannot switch to Microsoft-managed" in (encryption_switch(True, False) or "")


def test_loosening_the_deployed_workspace_is_refused_before_anything_is_declared() -> None:
    deployed = {"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}
    plan = Plan(stack="staging")
    with pytest.raises(RefusedStackChange) as raised:
        run_program(
            "staging",
            stack_config("staging", managedNetworkIsolation="AllowInternetOutbound"),
            deployed_workspace=deployed,
            into=plan,
        )
    message = str(raised.value)
    assert "azure-mlops:managedNetworkIsolation = 'AllowInternetOutbound'" in message
    assert "learn.microsoft.com/azure/machine-learning/how-to-managed-network" in message
    assert [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")] == []


def test_tightening_the_deployed_workspace_goes_ahead() -> None:
    deployed = {"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}
    plan = run_program("staging", stack_config("staging"), deployed_workspace=deployed)
    assert plan.one(WORKSPACE).inputs["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert plan.outputs["managedNetworkIsolation"] == "AllowOnlyApprovedOutbound"


def test_a_workspace_without_a_managed_network_counts_as_disabled() -> None:
    staging = config_of("staging")
    assert (
        refuse_impossible_changes(DeployedWorkspace("Disabled", customer_managed_key=False), staging) is None
    )
    dev = config_of("dev").model_copy(update={"managed_network_isolation": "Disabled"})
    with pytest.raises(RefusedStackChange) as raised:
        refuse_impossible_changes(DeployedWorkspace("AllowInternetOutbound", customer_managed_key=False), dev)
    assert "'AllowInternetOutbound' -> 'Disabled' loosens it" in str(raised.value)


def test_only_arms_not_found_means_no_workspace_yet() -> None:
    """ARM answers a GET of a missing resource, or of one in a missing resource group, with 404 NotFound
    (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-not-found)."""
    assert is_not_found(Exception('Status=404 Code="ResourceGroupNotFound" Message="..."'))
    assert is_not_found(Exception('Code="ResourceNotFound"'))
    assert not is_not_found(Exception('Status=403 Code="AuthorizationFailed"'))


def _raise(message: str) -> object:
    raise Exception(message)  # an invoke failure: a plain Exception carrying ARM's answer


def test_a_read_of_what_is_not_there_yet_is_none_and_any_other_failure_is_raised() -> None:
    """`existing` wraps the program's GETs (the deployed workspace, the owner's registry, a consumer's workspace):
    ARM's 404 means "not created yet"; a 403 must stop the run, not pass for absence."""
    assert existing(lambda: "found") == "found"
    assert existing(lambda: _raise('Status=404 Code="ResourceNotFound"')) is None
    with pytest.raises(Exception, match="AuthorizationFailed"):
        existing(lambda: _raise('Status=403 Code="AuthorizationFailed"'))
