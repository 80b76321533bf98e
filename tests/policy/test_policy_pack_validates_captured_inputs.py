"""The Pulumi policy pack: its rules on captured wire inputs, and its wiring in its own environment."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from infra.plan.engine import Plan
from policy.rules import wire
from policy.rules.aml import StackContext, rule
from tests.policy.conftest import REPO
from tests.policy.rule_cases import rule_cases

PACK_PYTHON = REPO / ".venv-policy" / "bin" / "python"


def _config(context: StackContext) -> dict[str, str]:
    """The pack configuration a deploy passes for `context` (previous* from the stack's last outputs)."""
    previous_key = context.previous_customer_managed_key
    return {
        "networkProfile": "private" if context.private else "public",
        "environment": context.environment,
        "previousManagedNetworkIsolation": context.previous_isolation or "",
        "previousCustomerManagedKey": "" if previous_key is None else str(previous_key).lower(),
    }


def test_wire_inputs_pass_and_violate(plans: dict[str, Plan]) -> None:
    for case in rule_cases(plans):
        only = (rule(case.rule_id),)
        context = wire.stack_context(case.compliant, _config(case.context))
        assert context == case.context, case.rule_id
        assert wire.violations(case.token, case.compliant, context, only) == [], case.rule_id
        found = wire.violations(case.token, case.violating, context, only)
        assert [r.id for r, _ in found] == [case.rule_id] and case.expected in found[0][1]


def test_environment_falls_back_to_the_tag_and_profile_defaults_to_private(plans: dict[str, Plan]) -> None:
    inputs = plans["dev"].named("compute-cpu-cluster").inputs
    context = wire.stack_context(inputs, {})
    assert context.environment == "dev" and context.private is True
    with pytest.raises(ValueError, match="networkProfile = 'open'") as raised:
        wire.stack_context(inputs, {"networkProfile": "open"})
    assert "public" in str(raised.value)


def test_unmapped_types_carry_no_rule() -> None:
    context = wire.stack_context({}, {})
    assert wire.violations("random:index/randomString:RandomString", {"length": 8}, context) == []


def _run_pack(cases: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each case's reports from the pack's own policies, run in the pack's environment (.venv-policy)."""
    if not PACK_PYTHON.is_file():
        pytest.fail("the policy pack environment is missing: run `make setup-policy-pack` (make test does)")
    completed = subprocess.run(
        [str(PACK_PYTHON), str(REPO / "policy/pack/tests/run_pack_cases.py")],
        input=json.dumps(cases), capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    return {r["label"]: r["reported"] for r in json.loads(completed.stdout)}


def test_pack_policies_report_in_the_pack_environment(plans: dict[str, Plan]) -> None:
    """pulumi-policy's own ResourceValidationArgs through each policy's validate (.venv-policy)."""
    cases, expected = [], {}
    for index, case in enumerate(rule_cases(plans)):
        policy = rule(case.rule_id).name
        for verdict, inputs in (("pass", case.compliant), ("fail", case.violating)):
            label = f"{index}-{case.rule_id}-{verdict}"
            config = _config(case.context)
            cases.append(
                {"label": label, "policy": policy, "token": case.token, "inputs": inputs, "config": config}
            )
            expected[label] = (verdict, case.rule_id, case.expected)
    results = _run_pack(cases)
    assert set(results) == set(expected)
    for label, (verdict, rule_id, fragment) in expected.items():
        if verdict == "pass":
            assert results[label] == [], label
        else:
            assert len(results[label]) == 1 and results[label][0].startswith(f"{rule_id}: "), label
            assert fragment in results[label][0], label


PROTECTION_POLICY = "prod-stateful-resources-protected"


def test_stateful_prod_resources_must_be_protected(plans: dict[str, Plan]) -> None:
    """What the stack declares passes; the same resource without `protect` fails in prod only."""
    prod, staging = plans["prod"], plans["staging"]
    prod_context = wire.stack_context({}, _config(StackContext("prod", True)))
    for resource in (r for r in prod.resources if r.custom):
        assert (
            wire.protection_violation(resource.type, resource.inputs, resource.protect, prod_context) is None
        )
    vault = prod.one("azure-native:keyvault:Vault").inputs
    problem = wire.protection_violation("azure-native:keyvault:Vault", vault, False, prod_context)
    assert problem and "protect = False" in problem and "Microsoft.KeyVault/vaults" in problem
    staging_context = wire.stack_context({}, _config(StackContext("staging", True)))
    unprotected = staging.one("azure-native:keyvault:Vault")
    assert not unprotected.protect
    assert wire.protection_violation(unprotected.type, unprotected.inputs, False, staging_context) is None


def test_the_pack_refuses_an_unprotected_prod_vault_in_its_environment(plans: dict[str, Plan]) -> None:
    """The policy reads `protect` from pulumi-policy's own PolicyResourceOptions (.venv-policy)."""
    vault = plans["prod"].one("azure-native:keyvault:Vault")
    base = {"policy": PROTECTION_POLICY, "token": vault.type, "inputs": vault.inputs}
    cases = [
        {**base, "label": "prod-protected", "protect": True, "config": _config(StackContext("prod", True))},
        {
            **base,
            "label": "prod-unprotected",
            "protect": False,
            "config": _config(StackContext("prod", True)),
        },
        {
            **base,
            "label": "staging-unprotected",
            "protect": False,
            "config": _config(StackContext("staging", True)),
        },
    ]
    results = _run_pack(cases)
    assert results["prod-protected"] == [] and results["staging-unprotected"] == []
    assert len(results["prod-unprotected"]) == 1
    assert results["prod-unprotected"][0].startswith(f"{PROTECTION_POLICY}: ")
    assert "protect = False" in results["prod-unprotected"][0]


def test_the_previous_state_in_the_pack_config_is_validated() -> None:
    with pytest.raises(ValueError, match="previousManagedNetworkIsolation = 'Open'") as raised:
        wire.stack_context({}, {"previousManagedNetworkIsolation": "Open"})
    assert "AllowOnlyApprovedOutbound" in str(raised.value)
    with pytest.raises(ValueError, match="previousCustomerManagedKey = 'yes'") as raised:
        wire.stack_context({}, {"previousCustomerManagedKey": "yes"})
    assert "true, false or unset" in str(raised.value)
    context = wire.stack_context(
        {}, {"previousManagedNetworkIsolation": "", "previousCustomerManagedKey": "false"}
    )
    assert (context.previous_isolation, context.previous_customer_managed_key) == (None, False)
