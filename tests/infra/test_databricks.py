"""Azure Databricks linked to Azure ML: the workspace, its network, what runs inside it, and who may do what.

The Databricks-enabled scenarios (infra/plan/scenarios.py) run the real program under the mock engine: prod
on the private profile, dev on the public one. The committed stacks, which leave the feature off, must not
declare a single Databricks resource.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import tomllib
from typing import Any

import pytest

from infra.components.databricks_job import AZUREML_MLFLOW, KEY_VAULT_SCOPE, WORKSPACE_ROOT, task_parameters
from infra.config import PROJECT, parse_stack_config, project_config_values
from infra.errors import InvalidStackConfig
from infra.plan.arm_model import arm_template
from infra.plan.arm_types import ARM_RESOURCE_TYPES, NON_ARM_PREFIXES, is_arm_token
from infra.plan.engine import Plan, PlannedResource, run_program
from infra.plan.report import resource_records
from infra.plan.scenarios import DATABRICKS_SETTINGS, SCENARIOS
from infra.roles import BuiltInRole
from tests.infra.conftest import REPO, stack_config

WORKSPACE = "azure-native:databricks:Workspace"
DATABRICKS_ARM_TYPE = "Microsoft.Databricks/workspaces"
AML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
PROVIDER = "pulumi:providers:databricks"
POLICY = "databricks:index/clusterPolicy:ClusterPolicy"
JOB = "databricks:index/job:Job"
SCOPE = "databricks:index/secretScope:SecretScope"
PRINCIPAL = "databricks:index/servicePrincipal:ServicePrincipal"
PERMISSIONS = "databricks:index/permissions:Permissions"
SECRET_ACL = "databricks:index/secretAcl:SecretAcl"
ROLE = "azure-native:authorization:RoleAssignment"
JOB_CLIENT = DATABRICKS_SETTINGS["databricksJobClientId"]
JOB_PRINCIPAL = DATABRICKS_SETTINGS["databricksJobPrincipalId"]
FIRST_PARTY = DATABRICKS_SETTINGS["azureDatabricksPrincipalId"]


@pytest.fixture(scope="module")
def private() -> Plan:
    """prod (private profile) with Databricks on."""
    return run_program("prod-databricks", SCENARIOS["prod-databricks"].config(REPO))


@pytest.fixture(scope="module")
def public() -> Plan:
    """dev (public profile) with Databricks on."""
    return run_program("dev-databricks", SCENARIOS["dev-databricks"].config(REPO))


def _parameters(plan: Plan) -> dict[str, Any]:
    return plan.one(WORKSPACE).inputs["parameters"]


def _job_cluster(plan: Plan) -> dict[str, Any]:
    (cluster,) = plan.one(JOB).inputs["jobClusters"]
    return cluster["newCluster"]


def _grants(plan: Plan, principal: str) -> set[tuple[str, str]]:
    return {
        (BuiltInRole(r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]).name, r.inputs["scope"])
        for r in plan.of_type(ROLE)
        if r.inputs["principalId"] == principal
    }


@pytest.mark.parametrize("profile", ["private", "public"])
def test_the_workspace_is_premium_hybrid_linked_to_aml_and_without_public_ips(
    profile: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(profile)
    workspace = plan.one(WORKSPACE).inputs
    assert workspace["sku"] == {"name": "premium"}
    assert workspace["computeMode"] == "Hybrid"
    assert workspace["managedResourceGroupId"].endswith(
        f"/resourceGroups/{workspace['resourceGroupName']}-dbw-managed"
    )
    parameters = _parameters(plan)
    assert parameters["amlWorkspaceId"]["value"] == plan.one(AML_WORKSPACE).resource_id
    assert parameters["enableNoPublicIp"]["value"] is True


def test_the_managed_resource_group_is_its_own_group(private: Plan) -> None:
    workspace = private.one(WORKSPACE).inputs
    group = private.one("azure-native:resources:ResourceGroup").resource_id
    assert workspace["managedResourceGroupId"] == f"{group}-dbw-managed"
    assert workspace["workspaceName"] == "dbw-mlops-prod-we"


def test_the_private_profile_injects_the_workspace_into_two_delegated_subnets(private: Plan) -> None:
    vnet = private.one("azure-native:network:VirtualNetwork")
    subnets = {s["name"]: s for s in vnet.inputs["subnets"]}
    parameters = _parameters(private)
    assert parameters["customVirtualNetworkId"]["value"] == vnet.resource_id
    host, container = (
        parameters["customPublicSubnetName"]["value"],
        parameters["customPrivateSubnetName"]["value"],
    )
    assert (host, container) == ("databricks-host", "databricks-container")
    # The 3rd and 4th /24 of the VNet's range, as the private profile promises.
    blocks = list(
        ipaddress.ip_network(vnet.inputs["addressSpace"]["addressPrefixes"][0]).subnets(new_prefix=24)
    )
    assert [subnets[host]["addressPrefix"], subnets[container]["addressPrefix"]] == [
        str(blocks[2]),
        str(blocks[3]),
    ]
    groups = {g.resource_id: g.inputs for g in private.of_type("azure-native:network:NetworkSecurityGroup")}
    nsg_ids = set()
    for name in (host, container):
        subnet = subnets[name]
        assert [d["serviceName"] for d in subnet["delegations"]] == ["Microsoft.Databricks/workspaces"]
        assert subnet["networkSecurityGroup"]["id"] in groups
        assert subnet["defaultOutboundAccess"] is False
        nsg_ids.add(subnet["networkSecurityGroup"]["id"])
        rules = groups[subnet["networkSecurityGroup"]["id"]]["securityRules"]
        outbound = sorted((r for r in rules if r["direction"] == "Outbound"), key=lambda r: r["priority"])
        assert (outbound[-1]["access"], outbound[-1]["destinationAddressPrefix"]) == ("Deny", "*")
        inbound = [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow"]
        assert {r["sourceAddressPrefix"] for r in inbound} == {"VirtualNetwork"}
    assert len(nsg_ids) == 2, "each Databricks subnet has its own NSG"


def test_no_public_ip_nodes_reach_pypi_and_azure_through_the_nat_gateway(private: Plan) -> None:
    """Without default outbound access, the NAT gateway is the nodes' only way to PyPI and service tags."""
    nat = private.one("azure-native:network:NatGateway")
    subnets = {s["name"]: s for s in private.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
    for name in ("databricks-host", "databricks-container"):
        assert subnets[name]["natGateway"]["id"] == nat.resource_id, name
    assert "natGateway" not in subnets["private-endpoints"]


def test_the_private_profile_disables_public_access_behind_a_private_endpoint(private: Plan) -> None:
    workspace = private.one(WORKSPACE)
    assert workspace.inputs["publicNetworkAccess"] == "Disabled"
    assert workspace.inputs["requiredNsgRules"] == "NoAzureDatabricksRules"
    endpoint = private.named("private-endpoints-databricks").inputs
    (connection,) = endpoint["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == workspace.resource_id
    assert connection["groupIds"] == ["databricks_ui_api"]
    vnet = private.one("azure-native:network:VirtualNetwork").resource_id
    assert endpoint["subnet"]["id"] == f"{vnet}/subnets/private-endpoints"
    zone = next(
        z
        for z in private.of_type("azure-native:privatedns:PrivateZone")
        if z.inputs["privateZoneName"] == "privatelink.azuredatabricks.net"
    )
    (config,) = private.named("private-endpoints-databricks-dns").inputs["privateDnsZoneConfigs"]
    assert config["privateDnsZoneId"] == zone.resource_id
    assert private.waivers and not [w for w in private.waivers if w.check_id == "CKV_AZURE_158"]


def test_the_public_profile_keeps_the_workspace_reachable_and_says_why(public: Plan) -> None:
    workspace = public.one(WORKSPACE).inputs
    assert workspace["publicNetworkAccess"] == "Enabled"
    assert workspace["requiredNsgRules"] == "AllRules"
    assert "customVirtualNetworkId" not in _parameters(public)
    waived = [
        w for w in public.waivers if w.resource == "databricks-workspace" and w.check_id == "CKV_AZURE_158"
    ]
    assert len(waived) == 1 and "public network profile" in waived[0].reason
    assert not public.of_type("azure-native:network:PrivateEndpoint")


def test_the_provider_signs_in_to_the_created_workspace_without_a_token(private: Plan) -> None:
    provider = private.one(PROVIDER).inputs
    assert provider["host"] == private.outputs["databricksWorkspaceUrl"]
    assert provider["azureWorkspaceResourceId"] == private.one(WORKSPACE).resource_id
    assert not {"token", "password", "clientSecret", "azureClientSecret"} & set(provider)


def test_the_cluster_policy_pins_the_runtime_and_bounds_the_clusters(private: Plan) -> None:
    config = parse_stack_config(project_config_values(private.config))
    definition = json.loads(private.one(POLICY).inputs["definition"])
    assert definition["spark_version"] == {"type": "fixed", "value": config.databricks_spark_version}
    assert definition["node_type_id"]["values"] == list(config.databricks_node_types)
    assert definition["autotermination_minutes"]["maxValue"] == config.databricks_auto_termination_minutes
    assert definition["autotermination_minutes"]["minValue"] >= 10, "0 would mean never terminate"
    assert definition["autoscale.max_workers"]["maxValue"] == config.databricks_max_workers
    assert definition["data_security_mode"] == {"type": "fixed", "value": "SINGLE_USER"}
    assert definition["ssh_public_keys.*"] == {"type": "forbidden"}


def test_the_job_cluster_uses_the_policy_and_tracks_to_the_aml_workspace(private: Plan) -> None:
    cluster = _job_cluster(private)
    assert cluster["policyId"] == private.one(POLICY).resource_id
    assert cluster["applyPolicyDefaultValues"] is True
    environment = cluster["sparkEnvVars"]
    assert environment["MLFLOW_TRACKING_URI"] == private.outputs["mlflowTrackingUri"]
    assert environment["MLFLOW_TRACKING_URI"].startswith("azureml://westeurope.api.azureml.ms/mlflow/v1.0/")
    assert environment["AZURE_CLIENT_ID"] == JOB_CLIENT
    # The client secret is a reference resolved at cluster start, never a value in the job definition.
    assert (
        environment["AZURE_CLIENT_SECRET"]
        == "{{secrets/" + KEY_VAULT_SCOPE + "/databricks-job-client-secret}}"
    )


def test_the_task_runs_the_projects_entry_point_with_azureml_mlflow_installed(private: Plan) -> None:
    job = private.one(JOB).inputs
    (task,) = job["tasks"]
    package = DATABRICKS_SETTINGS["databricksJobPackage"]
    assert (
        task["sparkPythonTask"]["pythonFile"] == f"{WORKSPACE_ROOT}/{package}/files/databricks/train_job.py"
    )
    pypi = [library["pypi"]["package"] for library in task["libraries"] if "pypi" in library]
    assert pypi == [AZUREML_MLFLOW]
    requirements = [library["requirements"] for library in task["libraries"] if "requirements" in library]
    assert requirements == [f"{WORKSPACE_ROOT}/{package}/files/databricks/requirements.txt"]
    # The job reads the configured table: the template's test runs the entry point with this command line.
    assert task["sparkPythonTask"]["parameters"] == task_parameters(
        DATABRICKS_SETTINGS["databricksTrainingTable"]
    )
    assert task["sparkPythonTask"]["parameters"] == ["--table", "ml.diabetes_progression.training"]
    assert job["runAs"] == {"servicePrincipalName": JOB_CLIENT}
    assert job["maxConcurrentRuns"] == 1


def test_azureml_mlflow_is_the_locked_version() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    name, version = AZUREML_MLFLOW.split("==")
    assert locked[name] == version


def test_the_secret_scope_is_backed_by_the_stacks_key_vault(private: Plan) -> None:
    vault = private.one("azure-native:keyvault:Vault")
    scope = private.one(SCOPE).inputs
    assert scope["backendType"] == "AZURE_KEYVAULT"
    assert scope["keyvaultMetadata"] == {
        "resourceId": vault.resource_id,
        "dnsName": f"https://{vault.inputs['vaultName']}.vault.azure.net/",
    }


def test_the_job_principal_may_use_the_policy_and_read_the_scope_only(private: Plan) -> None:
    principal = private.one(PRINCIPAL).inputs
    assert principal["applicationId"] == JOB_CLIENT
    assert principal["allowClusterCreate"] is False
    permissions = private.one(PERMISSIONS).inputs
    assert permissions["clusterPolicyId"] == private.one(POLICY).resource_id
    assert permissions["accessControls"] == [
        {"servicePrincipalName": JOB_CLIENT, "permissionLevel": "CAN_USE"}
    ]
    acl = private.one(SECRET_ACL).inputs
    assert (acl["scope"], acl["principal"], acl["permission"]) == (KEY_VAULT_SCOPE, JOB_CLIENT, "READ")


def test_role_assignments_are_least_privilege_on_single_resources(private: Plan) -> None:
    workspace = private.one(AML_WORKSPACE).resource_id
    storage = private.named("workspace-storage-account").resource_id
    lake = private.named("data-lake-account").resource_id
    vault = private.one("azure-native:keyvault:Vault").resource_id
    assert _grants(private, JOB_PRINCIPAL) == {
        ("AZUREML_DATA_SCIENTIST", workspace),
        ("STORAGE_BLOB_DATA_CONTRIBUTOR", storage),
        ("STORAGE_BLOB_DATA_READER", lake),
    }
    assert _grants(private, FIRST_PARTY) == {("KEY_VAULT_SECRETS_USER", vault)}
    databricks = private.one(WORKSPACE).resource_id
    assert not [r for r in private.of_type(ROLE) if r.inputs["scope"] == databricks]


def test_outputs_look_like_what_azure_and_databricks_return(private: Plan) -> None:
    outputs = private.outputs
    assert re.fullmatch(
        r"https://adb-\d{16}\.\d{1,2}\.azuredatabricks\.net", outputs["databricksWorkspaceUrl"]
    )
    assert outputs["databricksWorkspaceId"] == private.one(WORKSPACE).resource_id
    assert re.fullmatch(r"\d{15}", outputs["databricksJobId"])
    assert outputs["databricksJobId"] == private.one(JOB).resource_id
    assert re.fullmatch(r"[0-9A-F]{16}", outputs["databricksClusterPolicyId"])


def test_databricks_objects_are_planned_but_left_out_of_the_arm_model(private: Plan) -> None:
    recorded = {record["type"] for record in resource_records(private)}
    assert {PROVIDER, POLICY, JOB, SCOPE, PRINCIPAL, PERMISSIONS, SECRET_ACL} <= recorded
    template = arm_template(private, PROJECT)
    modelled = {r["metadata"]["azureMlops"]["pulumiType"] for r in template["resources"]}
    assert WORKSPACE in modelled
    assert not {token for token in modelled if token.startswith(NON_ARM_PREFIXES)}
    azure = sorted(r.name for r in private.resources if r.custom and is_arm_token(r.type))
    assert sorted(r["metadata"]["azureMlops"]["logicalName"] for r in template["resources"]) == azure


def test_only_databricks_and_provider_tokens_bypass_the_arm_mapping() -> None:
    assert NON_ARM_PREFIXES == ("databricks:", "pulumi:providers:")
    assert not is_arm_token(JOB) and not is_arm_token(PROVIDER)
    assert is_arm_token(WORKSPACE) and WORKSPACE in ARM_RESOURCE_TYPES
    assert is_arm_token("azure-native:web:WebApp"), "an unmapped Azure type must still stop the plan"


def test_an_unknown_databricks_object_still_gets_a_numeric_id(private: Plan) -> None:
    principal: PlannedResource = private.one(PRINCIPAL)
    assert principal.resource_id is not None and principal.resource_id.isdigit()


def test_committed_stacks_declare_nothing_databricks(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        found = [r.name for r in plan.resources if "databricks" in r.type.lower() or "databricks" in r.name]
        assert found == [], stack
        assert {plan.outputs[key] for key in plan.outputs if key.startswith("databricks")} == {""}, stack
        subnets = {
            s["name"]
            for v in plan.of_type("azure-native:network:VirtualNetwork")
            for s in v.inputs["subnets"]
        }
        assert not {"databricks-host", "databricks-container"} & subnets, stack


def test_a_stack_without_databricks_never_imports_pulumi_databricks() -> None:
    """pulumi-databricks takes seconds to import: only stacks that use it may pay for it."""
    code = (
        "import sys\n"
        "from infra.plan.engine import run_program\n"
        "from tests.infra.conftest import stack_config\n"
        "run_program('dev', stack_config('dev'))\n"
        "print('pulumi_databricks' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_enabling_databricks_without_its_identities_names_every_missing_key() -> None:
    values = project_config_values(stack_config("prod", databricksEnabled="true"))
    with pytest.raises(InvalidStackConfig) as raised:
        parse_stack_config(values)
    message = str(raised.value)
    for key in (
        "databricksJobPackage",
        "databricksTrainingTable",
        "databricksJobClientId",
        "databricksJobPrincipalId",
        "azureDatabricksPrincipalId",
    ):
        assert f"{PROJECT}:{key} = None: is required when databricksEnabled is true" in message


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("databricksSparkVersion", "latest", "should match pattern"),
        ("databricksNodeTypes", "[]", "must list at least one entry"),
        ("databricksNodeTypes", '["Standard_D4ds_v5", "Standard_D4ds_v5"]', "must not repeat entries"),
        ("databricksMaxWorkers", "0", "greater than or equal to 1"),
        ("databricksAutoTerminationMinutes", "0", "greater than or equal to 10"),
        ("databricksJobPackage", "Diabetes-Progression", "should match pattern"),
        ("databricksTrainingTable", "training", "should match pattern"),
        ("databricksTrainingTable", "ml.diabetes;drop", "should match pattern"),
        ("databricksJobClientId", "not-a-guid", "should match pattern"),
    ],
)
def test_a_bad_databricks_setting_names_the_key_the_value_and_the_rule(
    key: str, value: str, rule: str
) -> None:
    values = project_config_values(stack_config("prod", **{**DATABRICKS_SETTINGS, key: value}))
    with pytest.raises(InvalidStackConfig) as raised:
        parse_stack_config(values)
    line = next(line for line in str(raised.value).splitlines() if f"{PROJECT}:{key}" in line)
    assert value.strip('[]"').split('"')[0] in line or value in line
    assert rule in line


def test_the_workspace_model_uses_only_arm_schema_names_and_sets_the_required_ones(private: Plan) -> None:
    """Names checked against Azure/azure-resource-manager-schemas 2026-01-01 (tests/policy/fixtures)."""
    schema = json.loads((REPO / "tests" / "policy" / "fixtures" / "arm_schema_names.json").read_text())
    names = schema["types"]["Microsoft.Databricks/workspaces"]
    (resource,) = [r for r in arm_template(private, PROJECT)["resources"] if r["type"] == DATABRICKS_ARM_TYPE]
    assert resource["apiVersion"] == names["apiVersion"] == "2026-01-01"
    assert set(resource["properties"]) <= set(names["properties"])
    assert set(resource) - {"metadata"} <= set(names["topLevel"])
    # Required by the schema: computeMode; by Hybrid compute mode: the managed resource group.
    assert resource["properties"]["computeMode"] == "Hybrid"
    assert resource["properties"]["managedResourceGroupId"]
    assert resource["sku"]["name"] == "premium"


def test_the_job_cluster_is_dedicated_ml_runtime_with_workers_for_the_search(private: Plan) -> None:
    """The job's search runs one Spark task per candidate through `spark.sparkContext`, on Databricks Runtime ML:
    standard access mode supports neither (no Runtime for ML, no `spark.sparkContext`), dedicated (single user)
    does: https://learn.microsoft.com/azure/databricks/compute/standard-limitations"""
    config = parse_stack_config(project_config_values(private.config))
    definition = json.loads(private.one(POLICY).inputs["definition"])
    assert definition["data_security_mode"] == {"type": "fixed", "value": "SINGLE_USER"}
    assert "-ml-" in definition["spark_version"]["value"]
    cluster = _job_cluster(private)
    assert cluster["dataSecurityMode"] == "SINGLE_USER"
    # Workers to run the candidates on, within what the policy allows (not a single-node cluster).
    assert cluster["autoscale"] == {"minWorkers": 1, "maxWorkers": config.databricks_max_workers}
    assert definition["autoscale.min_workers"]["maxValue"] >= 1
    assert definition["autoscale.max_workers"]["maxValue"] == config.databricks_max_workers
    assert "numWorkers" not in cluster and "spark.master" not in cluster.get("sparkConf", {})


DATABRICKS_OBJECTS = (PROVIDER, POLICY, JOB, SCOPE, PRINCIPAL, PERMISSIONS, SECRET_ACL)
API_READY = {"private-endpoints-databricks", "private-endpoints-databricks-dns", "network-link-databricks"}


def test_databricks_objects_wait_for_the_workspaces_private_endpoint_and_its_dns_record(
    private: Plan,
) -> None:
    """With public access off, the workspace's API answers only through its private endpoint, once
    privatelink.azuredatabricks.net resolves in the VNet (the endpoint's A record, the zone's VNet link):
    https://learn.microsoft.com/azure/databricks/security/network/front-end/front-end-private-connect"""
    objects = [r for r in private.resources if r.type in DATABRICKS_OBJECTS]
    assert {r.type for r in objects} == set(DATABRICKS_OBJECTS)
    for resource in objects:
        assert set(resource.dependencies) >= API_READY, (resource.name, resource.dependencies)
    order = [r.name for r in private.resources]
    assert all(order.index(name) < order.index(r.name) for name in API_READY for r in objects)


def test_a_public_workspace_has_nothing_private_to_wait_for(public: Plan) -> None:
    for resource in public.resources:
        if resource.type in DATABRICKS_OBJECTS:
            assert not {d for d in resource.dependencies if d.startswith(("private-endpoints", "network-"))}


def test_single_sign_on_gets_one_browser_authentication_endpoint_in_the_workspaces_zone(
    private: Plan,
) -> None:
    """Clients without internet (agents, users in the VNet) need a browser_authentication endpoint for the
    Entra ID sign-on callback; it is shared by every workspace of the region that shares the private DNS zone,
    so there is one per region per zone. This stack's zone is its own and holds one workspace, in one region:
    one endpoint, hosted by that workspace, in the same zone and subnet as the workspace's front end:
    https://learn.microsoft.com/azure/databricks/security/network/classic/private-link-standard"""
    workspace = private.one(WORKSPACE)
    endpoints = [
        e
        for e in private.of_type("azure-native:network:PrivateEndpoint")
        if e.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["browser_authentication"]
    ]
    assert [e.name for e in endpoints] == ["private-endpoints-databricks-auth"]
    (connection,) = endpoints[0].inputs["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == workspace.resource_id
    assert endpoints[0].inputs["location"] == workspace.inputs["location"]
    front_end = private.named("private-endpoints-databricks").inputs
    assert endpoints[0].inputs["subnet"] == front_end["subnet"]
    (config,) = private.named("private-endpoints-databricks-auth-dns").inputs["privateDnsZoneConfigs"]
    (front_config,) = private.named("private-endpoints-databricks-dns").inputs["privateDnsZoneConfigs"]
    assert config["privateDnsZoneId"] == front_config["privateDnsZoneId"]
    zones = [
        z
        for z in private.of_type("azure-native:privatedns:PrivateZone")
        if z.resource_id == config["privateDnsZoneId"]
    ]
    assert [z.inputs["privateZoneName"] for z in zones] == ["privatelink.azuredatabricks.net"]


def _nsg_rules(plan: Plan, subnet: str) -> list[dict[str, Any]]:
    subnets = {s["name"]: s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
    groups = {g.resource_id: g.inputs for g in plan.of_type("azure-native:network:NetworkSecurityGroup")}
    return groups[subnets[subnet]["networkSecurityGroup"]["id"]]["securityRules"]


# What Azure Databricks writes into each delegated subnet's NSG under NoAzureDatabricksRules:
# (name suffix, direction, priority, protocol, destination, port).
DATABRICKS_OWNED_RULES = {
    ("worker-inbound", "Inbound", 100, "*", "VirtualNetwork", "*"),
    ("worker-outbound", "Outbound", 100, "*", "VirtualNetwork", "*"),
    ("sql", "Outbound", 101, "Tcp", "Sql", "3306"),
    ("storage", "Outbound", 102, "Tcp", "Storage", "443"),
    ("eventhub", "Outbound", 103, "Tcp", "EventHub", "9093"),
}


@pytest.mark.parametrize("subnet", ["databricks-host", "databricks-container"])
def test_databricks_subnets_carry_the_rules_azure_databricks_provisions_and_owns(
    subnet: str, private: Plan
) -> None:
    """Azure Databricks adds these rules to each delegated subnet's NSG and owns them (they cannot be changed or
    deleted; the worker rules take priority 100 in both directions); with NoAzureDatabricksRules it leaves out only
    the AzureDatabricks control-plane rule, which private link replaces. Declared identically, Pulumi's rule list
    matches Azure's, and no rule of ours takes a priority Databricks uses:
    https://learn.microsoft.com/azure/databricks/security/network/classic/vnet-inject#network-security-group-rules
    https://learn.microsoft.com/azure/databricks/security/network/classic/harden-nsg-rule-100
    https://learn.microsoft.com/azure/databricks/security/network/classic/udr (no AzureDatabricks tag with private link)
    """
    rules = _nsg_rules(private, subnet)
    prefix = "Microsoft.Databricks-workspaces_UseOnly_databricks-worker-to-"
    owned = {
        (
            r["name"].removeprefix(prefix),
            r["direction"],
            r["priority"],
            r["protocol"],
            r["destinationAddressPrefix"],
            r["destinationPortRange"],
        )
        for r in rules
        if r["name"].startswith(prefix)
    }
    assert owned == DATABRICKS_OWNED_RULES
    for rule in rules:
        if rule["name"].startswith(prefix):
            assert (rule["access"], rule["sourceAddressPrefix"], rule["sourcePortRange"]) == (
                "Allow",
                "VirtualNetwork",
                "*",
            )
            assert rule["description"].startswith("Required for worker")
        else:
            assert rule["priority"] > 103, rule["name"]
    # Azure refuses two rules of one direction with the same priority.
    keys = [(r["direction"], r["priority"]) for r in rules]
    assert len(keys) == len(set(keys))
    assert not [r for r in rules if r.get("destinationAddressPrefix") == "AzureDatabricks"]
    egress = {
        r["destinationAddressPrefix"]
        for r in rules
        if r["direction"] == "Outbound" and r["access"] == "Allow"
    }
    assert egress == {"VirtualNetwork", "Sql", "Storage", "EventHub", "AzureActiveDirectory", "Internet"}


def test_the_endpoint_subnet_lets_the_clusters_reach_the_back_end_ports_only_from_their_subnets(
    private: Plan,
) -> None:
    """Back-end private link: the clusters reach the REST API, the secure cluster connectivity relay and the
    control plane's services through the workspace's endpoint (ports 443, 6666, 3306, 8443-8451):
    https://learn.microsoft.com/azure/databricks/security/network/classic/private-link-standard"""
    subnets = {s["name"]: s for s in private.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
    rules = _nsg_rules(private, "private-endpoints")
    backend = [r for r in rules if r["name"].startswith("allow-databricks-backend")]
    assert {r["sourceAddressPrefix"] for r in backend} == {
        subnets["databricks-host"]["addressPrefix"],
        subnets["databricks-container"]["addressPrefix"],
    }
    for rule in backend:
        assert (rule["direction"], rule["access"], rule["protocol"]) == ("Inbound", "Allow", "Tcp")
        assert rule["destinationPortRanges"] == ["443", "6666", "3306", "8443-8451"]
    deny = max(rules, key=lambda r: r["priority"])
    assert (deny["access"], deny["sourceAddressPrefix"]) == ("Deny", "*")
    assert all(r["priority"] < deny["priority"] for r in backend)


def test_without_databricks_the_endpoint_subnet_opens_no_databricks_port(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        for nsg in plan.of_type("azure-native:network:NetworkSecurityGroup"):
            assert not [r for r in nsg.inputs["securityRules"] if "databricks" in r["name"]], stack
