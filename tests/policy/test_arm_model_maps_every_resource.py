"""The ARM model: one entry per Azure resource, the right type, API version, shape and wire names."""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import pytest

from infra.config import PROJECT
from infra.errors import PlanError
from infra.plan.arm_model import arm_resource, arm_template
from infra.plan.arm_types import ARM_RESOURCE_TYPES, is_arm_token
from infra.plan.engine import Plan, run_program
from infra.plan.scenarios import SCENARIOS
from tests.policy.conftest import REPO

# Types whose ARM schema is not vendored in fixtures/arm_schema_names.json, each with the reason; their
# property names are checked against the azure-native SDK's own input names instead.
WITHOUT_VENDORED_SCHEMA = {
    "Microsoft.Web/serverfarms": "the newest Microsoft.Web schema in the snapshot is 2024-11-01; azure-native calls 2025-05-01",
    "Microsoft.Web/sites": "the newest Microsoft.Web schema in the snapshot is 2024-11-01; azure-native calls 2025-05-01",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": "the newest Microsoft.Web schema in the snapshot is "
    "2024-11-01; azure-native calls 2025-05-01",
    "Microsoft.DevCenter/devcenters": "no Microsoft.DevCenter schema was in the reference snapshot",
    "Microsoft.DevCenter/projects": "no Microsoft.DevCenter schema was in the reference snapshot",
    "Microsoft.DevOpsInfrastructure/pools": "the snapshot has 2025-09-20 and 2026-06-02, not azure-native's 2025-01-21",
    "Microsoft.App/managedEnvironments": "no Microsoft.App schema was in the reference snapshot",
    "Microsoft.App/jobs": "no Microsoft.App schema was in the reference snapshot",
}
ANY = "*"


def unknown_names(value: Any, tree: Any, path: str) -> list[str]:
    """Paths under `value` whose key is not an ARM name at that place in the vendored tree."""
    if tree is None or tree == ANY:
        return []  # a value without named keys (or below a recursive definition): nothing to compare
    if isinstance(value, list):
        return [found for item in value for found in unknown_names(item, tree, f"{path}[]")]
    if not isinstance(value, dict):
        return []
    found = []
    for key, child in value.items():
        if key in tree:
            found += unknown_names(child, tree[key], f"{path}.{key}")
        elif "*" in tree and len(tree) == 1:
            found += unknown_names(child, tree["*"], f"{path}.{key}")
        else:
            found.append(f"{path}.{key}")
    return found


def sdk_wire_names(token: str) -> set[str]:
    """The wire names of the SDK resource's inputs (`__props__.__dict__["name"]` in its source)."""
    _, module, name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    snake = re.findall(r'__props__\.__dict__\["(\w+)"\] = (?!None)', inspect.getsource(cls))
    return {re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name) for name in snake}


def sdk_api_version(token: str) -> str:
    """The API version the azure-native SDK documents for `token` ("Uses Azure REST API version ...")."""
    _, module, name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    match = re.search(r"Uses Azure REST API version (\S+?)\.?\s", inspect.getsource(cls))
    assert match, f"{token}: no API version in the SDK docstring"
    return match.group(1)


def test_every_declared_type_is_mapped(plans: dict[str, Plan]) -> None:
    declared = {r.type for plan in plans.values() for r in plan.resources if r.custom}
    unmapped = sorted(declared - set(ARM_RESOURCE_TYPES))
    assert unmapped == [], f"resource types without an ARM mapping: {unmapped}"
    assert len(declared) >= 10


def test_one_template_entry_per_azure_resource(plans: dict[str, Plan], templates: dict[str, Any]) -> None:
    for stack, plan in plans.items():
        azure = sorted(r.name for r in plan.resources if r.custom)
        modelled = sorted(r["metadata"]["azureMlops"]["logicalName"] for r in templates[stack]["resources"])
        assert modelled == azure, stack
        assert templates[stack]["$schema"].endswith("deploymentTemplate.json#")
        assert templates[stack]["contentVersion"] == "1.0.0.0"
        assert "not a deployment artifact" in templates[stack]["metadata"]["description"]


def test_api_versions_are_the_azure_native_defaults() -> None:
    for token, mapping in ARM_RESOURCE_TYPES.items():
        assert mapping.api_version == sdk_api_version(token), token


def check_names(templates: dict[str, Any], schema_names: dict) -> set[str]:
    """The ARM types of `templates` whose every key and property name is ARM's (asserted); returns them."""
    checked = set()
    for template in templates.values():
        for resource in template["resources"]:
            if resource["type"] in WITHOUT_VENDORED_SCHEMA:
                token = resource["metadata"]["azureMlops"]["pulumiType"]
                # Keys beside `properties` are exactly those the mapping says ARM keeps there (sku, kind ...).
                assert (
                    set(resource) - {"metadata", "type", "apiVersion", "name", "properties"}
                    <= ARM_RESOURCE_TYPES[token].top_level
                )
                unknown = sorted(set(resource.get("properties", {})) - sdk_wire_names(token))
                assert unknown == [], f"{token}: not SDK input names: {unknown}"
                checked.add(resource["type"])
                continue
            names = schema_names[resource["type"]]
            assert resource["apiVersion"] == names["apiVersion"]
            unknown = unknown_names(resource.get("properties", {}), names["properties"], "properties")
            assert unknown == [], f"{resource['type']} {resource['name']}: not ARM property names: {unknown}"
            extra = sorted(set(resource) - set(names["topLevel"]) - {"metadata", "scope"})
            assert extra == [], f"{resource['type']}: not ARM resource keys: {extra}"
            checked.add(resource["type"])
    assert len(checked) == len({r["type"] for t in templates.values() for r in t["resources"]})
    return checked


def test_keys_and_properties_exist_in_the_arm_schema(templates: dict[str, Any], schema_names: dict) -> None:
    """Every property name the model writes, at every depth, is ARM's wire name at that place in the type's ARM
    schema: SDK names that differ (enableHttpsTrafficOnly, odataType) were renamed, so checkov and reviewers
    read what Azure receives."""
    assert len(check_names(templates, schema_names)) >= 10


def test_the_github_runners_deployment_is_mapped_with_arm_names(schema_names: dict) -> None:
    """The GitHub runners' scenario (no committed stack opts in) declares a Microsoft.Resources deployment: mapped,
    and written with the names ARM's deployments schema has."""
    plan = run_program("prod-github-runners", SCENARIOS["prod-github-runners"].config(REPO))
    declared = {r.type for r in plan.resources if r.custom and is_arm_token(r.type)}
    assert sorted(declared - set(ARM_RESOURCE_TYPES)) == []
    checked = check_names({"prod-github-runners": arm_template(plan, PROJECT)}, schema_names)
    assert "Microsoft.Resources/deployments" in checked


def test_the_name_check_finds_an_sdk_name_at_any_depth(schema_names: dict) -> None:
    """The check bites: the SDK's `odataType` where ARM says `odata.type`, a misspelt nested key, a map's values."""
    alerts = schema_names["Microsoft.Insights/metricAlerts"]["properties"]
    assert unknown_names({"criteria": {"odata.type": "x", "allOf": [{"metricName": "m"}]}}, alerts, "p") == []
    assert unknown_names({"criteria": {"odataType": "x"}}, alerts, "p") == ["p.criteria.odataType"]
    assert unknown_names({"criteria": {"allOf": [{"metricNames": "m"}]}}, alerts, "p") == [
        "p.criteria.allOf[].metricNames"
    ]
    workspace = schema_names["Microsoft.MachineLearningServices/workspaces"]["properties"]
    rules = {"managedNetwork": {"outboundRules": {"any-name": {"type": "FQDN", "destinaton": "pypi.org"}}}}
    assert unknown_names(rules, workspace, "p") == ["p.managedNetwork.outboundRules.any-name.destinaton"]


def test_sdk_names_become_wire_names(plans: dict[str, Plan]) -> None:
    account = arm_resource(
        "azure-native:storage:StorageAccount", plans["dev"].named("workspace-storage-account").inputs
    )
    assert account["properties"]["supportsHttpsTrafficOnly"] is True
    assert account["properties"]["networkAcls"]["defaultAction"] == "Allow"
    assert "enableHttpsTrafficOnly" not in account["properties"]
    assert account["sku"] == {"name": "Standard_LRS"} and account["kind"] == "StorageV2"
    insights = arm_resource(
        "azure-native:applicationinsights:Component", plans["dev"].named("monitoring-insights").inputs
    )
    assert insights["properties"]["Application_Type"] == "web"
    assert insights["properties"]["WorkspaceResourceId"].endswith("/workspaces/log-mlops-dev-we")
    logs = arm_resource(
        "azure-native:operationalinsights:Workspace", plans["dev"].named("monitoring-logs").inputs
    )
    assert logs["properties"]["sku"] == {"name": "PerGB2018"} and "sku" not in logs


def test_nested_sdk_names_and_flattened_objects_take_arms_shape(plans: dict[str, Plan]) -> None:
    """ARM spells the metric alert criteria's discriminator `odata.type`; an event subscription's destination keeps
    `endpointType` beside the settings it nests under `properties`; a subnet delegation nests its service name.

    https://learn.microsoft.com/en-us/azure/templates/microsoft.insights/2018-03-01/metricalerts
    """
    plan = plans["prod"]
    alert = plan.of_type("azure-native:monitor:MetricAlert")[0]
    criteria = arm_resource(alert.type, alert.inputs)["properties"]["criteria"]
    assert criteria["odata.type"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    # The engine's (Pulumi's) input keeps the SDK name; only the model speaks ARM.
    assert "odataType" not in criteria and alert.inputs["criteria"]["odataType"]
    subscription = plan.of_type("azure-native:eventgrid:SystemTopicEventSubscription")[0]
    delivery = arm_resource(subscription.type, subscription.inputs)["properties"][
        "deliveryWithResourceIdentity"
    ]
    assert delivery["destination"]["endpointType"] == "StorageQueue"
    assert set(delivery["destination"]["properties"]) >= {"resourceId", "queueName"}
    vnet = plan.one("azure-native:network:VirtualNetwork")
    subnets = arm_resource(vnet.type, vnet.inputs)["properties"]["subnets"]
    delegations = [d for s in subnets for d in s["properties"].get("delegations", [])]
    assert delegations and all(
        set(d) == {"name", "properties"} and "serviceName" in d["properties"] for d in delegations
    )


def test_child_and_extension_resources(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    container = arm_resource("azure-native:storage:BlobContainer", plan.named("data-lake-raw").inputs)
    assert container["name"].endswith("/default/raw")
    compute = arm_resource(
        "azure-native:machinelearningservices:Compute", plan.named("compute-cpu-cluster").inputs
    )
    assert compute["name"] == "mlw-mlops-prod-we/cpu-cluster"
    assert compute["properties"]["properties"]["scaleSettings"]["minNodeCount"] == 0  # an int, not 0.0
    grant = next(r for r in plan.resources if r.type == "azure-native:authorization:RoleAssignment")
    assignment = arm_resource(grant.type, grant.inputs)
    assert assignment["scope"] == grant.inputs["scope"] and "scope" not in assignment["properties"]


def test_flattened_sub_resources_are_nested_again(plans: dict[str, Plan]) -> None:
    vnets = plans["prod"].of_type("azure-native:network:VirtualNetwork")
    assert vnets, "prod declares a virtual network"
    subnet = arm_resource(vnets[0].type, vnets[0].inputs)["properties"]["subnets"][0]
    assert set(subnet) == {"name", "properties"} and "addressPrefix" in subnet["properties"]


def test_unmapped_type_is_an_error_naming_it() -> None:
    with pytest.raises(PlanError) as raised:
        arm_resource("azure-native:cache:Redis", {"name": "cache"})
    assert "azure-native:cache:Redis" in str(raised.value)
