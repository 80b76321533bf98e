"""Prod is production-grade, waiver reasons name the real environment, and the workspace's customer-managed key."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.components.workspace_key import KEY_SIZE
from infra.errors import InvalidStackConfig, RefusedStackChange
from infra.naming import WORKSPACE_KEY_NAME
from infra.plan import gate
from infra.plan.engine import Plan, run_program
from infra.roles import BuiltInRole
from tests.infra.conftest import REPO, stack_config

WORKSPACE = "azure-native:machinelearningservices:Workspace"
KEY = "azure-native:keyvault:Key"
VAULT = "azure-native:keyvault:Vault"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
WORKSPACE_KEY_IDENTITY = "workspace-key-identity"
"""The key's identity; other components have identities of their own (the GitHub runner jobs')."""
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CMK_PAGE = "https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys"

NOT_PRODUCTION_GRADE = [
    (
        {"networkProfile": "public"},
        "azure-mlops:networkProfile = 'public': must be 'private' when environment is 'prod'",
    ),
    (
        {"protectStatefulResources": "false"},
        "azure-mlops:protectStatefulResources = False: must be true when environment is 'prod'",
    ),
    (
        {"managedNetworkIsolation": "AllowInternetOutbound"},
        "azure-mlops:managedNetworkIsolation = 'AllowInternetOutbound': must be 'AllowOnlyApprovedOutbound' when "
        "environment is 'prod'",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), NOT_PRODUCTION_GRADE)
def test_prod_must_be_private_protected_and_isolated(overrides: dict[str, str], expected: str) -> None:
    plan = Plan(stack="prod")
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("prod", stack_config("prod", **overrides), into=plan)
    assert expected in str(raised.value)
    assert [r for r in plan.resources if r.custom] == []


def test_the_gate_refuses_a_public_prod_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    prod = (REPO / "Pulumi.prod.yaml").read_text()
    (root / "Pulumi.prod.yaml").write_text(prod + "  azure-mlops:networkProfile: public\n")
    code = gate.main(
        [
            "--root",
            str(root),
            "--stack",
            "prod",
            "--out",
            str(tmp_path / "plan"),
            "--scan-dir",
            str(tmp_path / "scan"),
        ]
    )
    assert code == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "gate could not run" in out
    assert "azure-mlops:networkProfile = 'public': must be 'private' when environment is 'prod'" in out


def test_public_waivers_name_the_stacks_own_environment() -> None:
    """A public pr42 stack's skips say pr42: no reason claims "(dev)" for a stack that is not dev."""
    plan = run_program("pr42", stack_config("dev", environment="pr42"))
    public = [w for w in plan.waivers if w.reason.startswith("public network profile")]
    assert len(public) >= 5  # workspace, vault, registry, two storage accounts (and the function app)
    assert all(w.reason.startswith("public network profile of the 'pr42' stack: ") for w in public)
    assert not [w for w in plan.waivers if "dev" in w.reason.split(":")[0]]


def _with_key(**overrides: str) -> Plan:
    return run_program("prod", stack_config("prod", workspaceCustomerManagedKey="true", **overrides))


def test_the_key_lives_in_the_stacks_purge_protected_vault() -> None:
    """Azure ML's customer-managed key must be in a vault with soft delete and purge protection
    (https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys)."""
    plan = _with_key()
    key, vault = plan.one(KEY), plan.one(VAULT)
    assert key.inputs["vaultName"] == vault.inputs["vaultName"]
    assert key.inputs["keyName"] == WORKSPACE_KEY_NAME
    assert key.inputs["properties"]["kty"] == "RSA" and key.inputs["properties"]["keySize"] == KEY_SIZE
    assert key.inputs["properties"]["keyOps"] == ["wrapKey", "unwrapKey"]
    assert vault.inputs["properties"]["enablePurgeProtection"] is True
    assert vault.inputs["properties"]["enableSoftDelete"] is True
    # The workspace's data is unreadable without the key, the identity or its grant.
    for name in ("workspace-key-key", "workspace-key-identity", "workspace-key-crypto-user"):
        assert plan.named(name).protect and plan.named(name).retain_on_delete, name


def test_a_premium_vault_gets_an_hsm_key_and_the_skips_say_why_not_otherwise() -> None:
    standard, premium = _with_key(), _with_key(keyVaultSku="premium")
    assert premium.one(KEY).inputs["properties"]["kty"] == "RSA-HSM"
    skipped = {w.check_id for w in standard.waivers if w.resource == "workspace-key-key"}
    assert skipped == {"CKV_AZURE_40", "CKV_AZURE_112"}
    assert {w.check_id for w in premium.waivers if w.resource == "workspace-key-key"} == {"CKV_AZURE_40"}


def test_the_identity_may_only_wrap_and_unwrap_with_that_key() -> None:
    """The identity reading the key needs get, wrap key and unwrap key (concept-customer-managed-keys); Key Vault
    Crypto Service Encryption User grants exactly that
    (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles),
    here on the key alone."""
    plan = _with_key()
    identity, key = plan.named(WORKSPACE_KEY_IDENTITY), plan.one(KEY)
    grants = [
        g
        for g in plan.of_type(ROLE_ASSIGNMENT)
        if g.inputs["scope"] in (key.resource_id, identity.resource_id)
    ]
    assert len(grants) == 1
    grant = grants[0]
    assert grant.inputs["roleDefinitionId"].endswith(
        BuiltInRole.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER.value
    )
    assert grant.inputs["scope"] == key.resource_id
    assert grant.inputs["principalType"] == "ServicePrincipal"
    others = [
        g for g in plan.of_type(ROLE_ASSIGNMENT) if g.inputs["principalId"] == grant.inputs["principalId"]
    ]
    assert others == [grant]


def test_the_workspace_is_encrypted_with_it_and_waits_for_the_grant() -> None:
    plan = _with_key()
    workspace, key, identity = plan.one(WORKSPACE), plan.one(KEY), plan.named(WORKSPACE_KEY_IDENTITY)
    encryption = workspace.inputs["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["keyVaultProperties"]["keyIdentifier"].startswith(
        f"https://{key.inputs['vaultName']}.vault.azure.net/keys/{WORKSPACE_KEY_NAME}/"
    )
    assert encryption["keyVaultProperties"]["keyVaultArmId"] == plan.one(VAULT).resource_id
    assert encryption["identity"]["userAssignedIdentity"] == identity.resource_id
    # The system-assigned identity stays: soft delete and recovery are not supported with user-assigned alone
    # (https://learn.microsoft.com/azure/machine-learning/concept-soft-delete).
    assert workspace.inputs["identity"] == {
        "type": "SystemAssigned,UserAssigned",
        "userAssignedIdentities": [identity.resource_id],
    }
    assert workspace.inputs["hbiWorkspace"] is True
    assert "workspace-key-crypto-user" in workspace.dependencies
    assert plan.outputs["workspaceCustomerManagedKey"] is True


def test_without_the_option_there_is_no_key_and_no_extra_identity(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        key_identities = [i for i in plan.of_type(IDENTITY) if i.name == WORKSPACE_KEY_IDENTITY]
        assert plan.of_type(KEY) == [] and key_identities == [], stack
        assert "encryption" not in plan.one(WORKSPACE).inputs, stack
        assert plan.outputs["workspaceCustomerManagedKey"] is False, stack


def test_the_vault_lets_trusted_azure_services_reach_the_key() -> None:
    """With public access off, a vault must let trusted Microsoft services bypass its firewall for Azure ML
    (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network, Secured associated resources)."""
    acls = _with_key().one(VAULT).inputs["properties"]["networkAcls"]
    assert acls == {"bypass": "AzureServices", "defaultAction": "Deny"}


def test_the_key_needs_a_protected_stack() -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("staging", stack_config("staging", workspaceCustomerManagedKey="true"))
    assert "azure-mlops:workspaceCustomerManagedKey = True: needs protectStatefulResources true" in str(
        raised.value
    )


@pytest.mark.parametrize(("deployed_key", "wanted"), [(False, "true"), (True, "false")])
def test_switching_the_key_type_of_a_deployed_workspace_is_refused(deployed_key: bool, wanted: str) -> None:
    """Azure ML fixes the customer-managed key at workspace creation (concept-customer-managed-keys, Limitations)."""
    deployed = {
        "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"},
        "encryption": {"status": "Enabled" if deployed_key else "Disabled", "keyVaultProperties": {}},
    }
    with pytest.raises(RefusedStackChange) as raised:
        run_program(
            "prod", stack_config("prod", workspaceCustomerManagedKey=wanted), deployed_workspace=deployed
        )
    assert f"azure-mlops:workspaceCustomerManagedKey = {wanted.title()}" in str(raised.value)
    assert CMK_PAGE in str(raised.value)
