"""Each AML rule passes a compliant resource and names field and value for a violating one."""

from __future__ import annotations

from infra.plan.arm_model import arm_resource
from infra.plan.engine import Plan
from policy.rules import wire
from policy.rules.aml import RULES, StackContext, duration_minutes, rule
from tests.policy.rule_cases import DEV, PROD, rule_cases


def test_every_rule_has_a_case(plans: dict[str, Plan]) -> None:
    assert {case.rule_id for case in rule_cases(plans)} == {r.id for r in RULES}


def test_compliant_resources_pass_and_violations_name_the_field(plans: dict[str, Plan]) -> None:
    for case in rule_cases(plans):
        checked = rule(case.rule_id)
        assert checked.violations(arm_resource(case.token, case.compliant), case.context) == [], case.rule_id
        found = checked.violations(arm_resource(case.token, case.violating), case.context)
        assert found and case.expected in found[0], (case.rule_id, found)


def test_clusters_may_keep_nodes_warm_in_prod_only(plans: dict[str, Plan]) -> None:
    cluster = arm_resource(
        "azure-native:machinelearningservices:Compute", plans["prod"].named("compute-cpu-cluster").inputs
    )
    cluster["properties"]["properties"]["scaleSettings"]["minNodeCount"] = 2
    assert rule("CKV_AMLOPS_1").violations(cluster, PROD) == []
    assert rule("CKV_AMLOPS_1").violations(cluster, StackContext("staging", True))


def test_public_profile_allows_a_public_workspace(plans: dict[str, Plan]) -> None:
    workspace = arm_resource(
        "azure-native:machinelearningservices:Workspace", plans["dev"].named("workspace-workspace").inputs
    )
    assert workspace["properties"]["publicNetworkAccess"] == "Enabled"
    assert rule("CKV_AMLOPS_4").violations(workspace, DEV) == []


def test_rules_that_do_not_apply_say_so(plans: dict[str, Plan]) -> None:
    cluster = arm_resource(
        "azure-native:machinelearningservices:Compute", plans["dev"].named("compute-cpu-cluster").inputs
    )
    assert rule("CKV_AMLOPS_3").violations(cluster, DEV) is None
    assert rule("CKV_AMLOPS_7").violations(cluster, DEV) is None


def test_the_committed_stacks_comply(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        context = StackContext(
            plan.config["azure-mlops:environment"], plan.config["azure-mlops:networkProfile"] == "private"
        )
        found = [v for r in plan.resources if r.custom for v in wire.violations(r.type, r.inputs, context)]
        assert found == [], stack


def test_iso_durations() -> None:
    assert duration_minutes("PT60M") == 60
    assert duration_minutes("PT1H30M") == 90
    assert duration_minutes("PT900S") == 15
    assert duration_minutes("60") is None and duration_minutes("PT") is None


def test_a_subscription_that_would_drop_undeliverable_events_is_refused(plans: dict[str, Plan]) -> None:
    subscription = arm_resource(
        "azure-native:eventgrid:SystemTopicEventSubscription",
        plans["dev"].named("lifecycle-subscriptions-run-failed").inputs,
    )
    assert rule("CKV_AMLOPS_9").violations(subscription, DEV) == []
    del subscription["properties"]["deadLetterWithResourceIdentity"]
    (problem,) = rule("CKV_AMLOPS_9").violations(subscription, DEV)
    assert "deadLetterWithResourceIdentity.identity.type = None" in problem
    assert "dead-lettered, not dropped" in problem
