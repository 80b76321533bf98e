"""The gate with checkov itself: our custom checks pass and fail as the rules say, insecure stacks fail,
the committed stacks pass. One checkov run per test (about 5 s each), so these are marked slow."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import PROJECT
from infra.plan.arm_model import CONTENT_VERSION, CONTEXT_KEY, TEMPLATE_SCHEMA, arm_resource
from infra.plan.checkov_run import Finding, apply_graph_waivers, run_checkov
from infra.plan.engine import Plan
from infra.plan.gate import run_gate
from infra.plan.scenarios import SCENARIOS
from tests.policy.conftest import REPO, STACKS, require_checkov
from tests.policy.rule_cases import rule_cases

pytestmark = pytest.mark.slow
CHECKS = REPO / "policy" / "checkov_checks"
FAKE_AWS_KEY = "AKIA" + "Z7QW3RT5" + "YU8IOP2L"  # split so that the repository's own secrets scan stays clean


def _template(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$schema": TEMPLATE_SCHEMA, "contentVersion": CONTENT_VERSION, "resources": resources}


def _scan(tmp_path: Path, files: dict[str, str], frameworks: tuple[str, ...] = ("arm",)) -> list[Finding]:
    require_checkov()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return run_checkov(REPO, tmp_path, CHECKS, frameworks)


def test_custom_checks_pass_and_fail_like_the_rules(tmp_path: Path, plans: dict[str, Plan]) -> None:
    resources, expected = [], {}
    for index, case in enumerate(rule_cases(plans)):
        for verdict, inputs in (("passed", case.compliant), ("failed", case.violating)):
            resource = arm_resource(case.token, inputs)
            resource["name"] = f"{resource['name']}-{index}{verdict[0]}"
            context = {"environment": case.context.environment,
                       "networkProfile": "private" if case.context.private else "public",
                       "previousManagedNetworkIsolation": case.context.previous_isolation,
                       "previousCustomerManagedKey": case.context.previous_customer_managed_key}  # fmt: skip
            resource["metadata"] = {CONTEXT_KEY: context}
            resources.append(resource)
            expected[(case.rule_id, f"{resource['type']}.{resource['name']}")] = verdict
    findings = _scan(tmp_path, {"cases.json": json.dumps(_template(resources))})
    got = {(f.check_id, f.resource): f for f in findings if f.check_id.startswith("CKV_AMLOPS_")}
    for key, verdict in expected.items():
        assert key in got, f"checkov reported nothing for {key}"
        assert got[key].result == verdict, key


def test_an_insecure_variant_of_prod_fails_the_expected_checks(
    tmp_path: Path, templates: dict[str, Any]
) -> None:
    template = copy.deepcopy(templates["prod"])
    by_type = {r["type"]: r for r in template["resources"]}
    by_type["Microsoft.MachineLearningServices/workspaces"]["properties"]["publicNetworkAccess"] = "Enabled"
    by_type["Microsoft.Storage/storageAccounts"]["properties"]["allowSharedKeyAccess"] = True
    by_type["Microsoft.ContainerRegistry/registries"]["properties"]["adminUserEnabled"] = True
    by_type["Microsoft.KeyVault/vaults"]["properties"]["publicNetworkAccess"] = "Enabled"
    subscription = by_type["Microsoft.EventGrid/systemTopics/eventSubscriptions"]["properties"]
    subscription.pop("deliveryWithResourceIdentity")
    subscription["destination"] = {
        "endpointType": "WebHook",
        "properties": {"endpointUrl": "https://example.org/e"},
    }
    files = {"insecure.json": json.dumps(template), "leak.py": f'AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY}"\n'}
    findings = _scan(tmp_path, files, ("arm", "secrets"))
    failed = {f.check_id for f in findings if f.result == "failed"}
    expected = {
        "CKV2_AZURE_49",
        "CKV_AMLOPS_4",
        "CKV_AMLOPS_7",
        "CKV_AMLOPS_9",
        "CKV_AMLOPS_20",
        "CKV_AZURE_137",
        "CKV_AZURE_189",
        "CKV_SECRET_2",
    }
    assert expected <= failed, f"missing: {sorted(expected - failed)}; failed: {sorted(failed)}"


def test_waivers_skip_graph_checks_too(tmp_path: Path, templates: dict[str, Any]) -> None:
    """checkov 3.3.30 ignores ARM metadata skips on graph checks (CKV2_*): the gate applies them."""
    path = tmp_path / "dev.json"
    findings = _scan(tmp_path, {"dev.json": json.dumps(templates["dev"])})
    raw = [f for f in findings if f.check_id == "CKV2_AZURE_49"]
    assert [f.result for f in raw] == ["failed"]
    applied = apply_graph_waivers(findings, {str(path.resolve()): templates["dev"]})
    waived = [f for f in applied if f.check_id == "CKV2_AZURE_49"]
    assert [f.result for f in waived] == ["skipped"] and "public network profile" in waived[0].reason


def test_every_committed_stack_passes_the_gate(tmp_path: Path) -> None:
    """The committed stacks and the scenarios that switch on what no stack uses yet (Databricks)."""
    require_checkov()
    result = run_gate(REPO, list(STACKS), tmp_path / "plan", REPO / "build" / "scan-test", SCENARIOS)
    assert result.problems == []
    assert set(result.resources_scanned) == set(STACKS) | set(SCENARIOS)
    # The repository's checkov run skips the staged ARM models, which the models' run scans: each ARM result once.
    # (checkov itself reports a Dockerfile check once per matching instruction, e.g. two USER lines.)
    arm = [f for f in result.findings if f.framework == "arm"]
    assert len(set(arm)) == len(arm)
    assert {f.framework for f in result.findings if f.file in result.inputs.stacks} == {"arm"}
    databricks = {
        (result.inputs.stacks[f.file], f.check_id): f.result
        for f in result.findings
        if f.file in result.inputs.stacks and f.resource.startswith("Microsoft.Databricks/workspaces.")
    }
    assert databricks[("prod-databricks", "CKV_AZURE_158")] == "passed"
    assert databricks[("dev-databricks", "CKV_AZURE_158")] == "skipped"  # the public profile, waived
    assert (
        databricks[("prod-databricks", "CKV_AMLOPS_8")]
        == databricks[("dev-databricks", "CKV_AMLOPS_8")]
        == "passed"
    )
    assert all(count > 0 for count in result.resources_scanned.values())
    assert all(count > 0 for count in result.passed_per_stack().values())
    skips = result.of("skipped")
    assert skips and all(len(f.reason) >= 30 for f in skips)
    # Private stacks need no network waiver: only the public dev profile may skip network checks.
    network = {
        "CKV_AZURE_59",
        "CKV_AZURE_35",
        "CKV_AZURE_109",
        "CKV_AZURE_189",
        "CKV_AZURE_139",
        "CKV2_AZURE_49",
    }
    private = [
        f
        for f in skips
        if f.check_id in network and result.inputs.stacks.get(f.file) not in ("dev", "dev-databricks")
    ]
    # One reasoned exception: Event Grid delivers and dead-letters as a trusted Azure service from outside any
    # VNet, so the lifecycle inbox keeps a public endpoint that admits trusted services only
    # (infra/components/lifecycle_events.py, tests/infra/test_lifecycle_private_profile.py).
    inbox = [
        f
        for f in private
        if f.check_id == "CKV_AZURE_59" and f.resource.startswith("Microsoft.Storage/storageAccounts.stinb")
    ]
    assert {result.inputs.stacks[f.file] for f in inbox} >= {"staging", "prod"}
    assert all("trusted Azure service" in f.reason for f in inbox)
    assert [f for f in private if f not in inbox] == []
    assert PROJECT == "azure-mlops"
