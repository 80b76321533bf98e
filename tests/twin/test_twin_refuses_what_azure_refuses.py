"""The twin refuses what Azure refuses, with Azure's errors: a name nothing created, and a data-plane call from an
agent outside the VNet of a resource whose public network access is off. Fakes the Azure boundary only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from pipelines.scripts.errors import DeploymentError
from tests.support.azure_twin.adapter import TwinAmlClient
from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.from_plan import cloud_of
from tests.support.azure_twin.model import AzureTwin, Endpoint

HOSTED = Caller.from_pool({"vmImage": "ubuntu-24.04"})


def client(cloud: AzureTwin, stack: str, caller: Caller = HOSTED) -> TwinAmlClient:
    outputs = cloud.stacks[stack].outputs
    return TwinAmlClient(
        cloud,
        caller,
        subscription_id=outputs["subscriptionId"],
        resource_group=outputs["resourceGroupName"],
        workspace=outputs["workspaceName"],
    )


def job_file(tmp_path: Path, **spec: object) -> Path:
    path = tmp_path / "job.yml"
    path.write_text(json.dumps({"type": "command", "command": "python train.py", **spec}))
    return path


def _cause(error: pytest.ExceptionInfo[DeploymentError]) -> BaseException:
    assert error.value.__cause__ is not None, "the adapter must chain the SDK's exception"
    return error.value.__cause__


def test_a_job_reading_a_datastore_no_stack_created_is_refused_with_arms_not_found(cloud, tmp_path):
    """ARM's ResourceNotFound (404, https://aka.ms/ARMResourceNotFoundFix in the message), as azure-core raises it."""
    spec = job_file(
        tmp_path,
        compute="azureml:cpu-cluster",
        inputs={"data": {"type": "uri_folder", "path": "azureml://datastores/datalake/paths/train/"}},
    )
    with pytest.raises(DeploymentError, match="submit job") as refused:
        client(cloud, "dev").submit_job(spec, experiment_name="train")
    cause = _cause(refused)
    assert isinstance(cause, ResourceNotFoundError) and cause.status_code == 404
    assert "Microsoft.MachineLearningServices/workspaces/mlw-mlops-dev-we/datastores/datalake'" in str(cause)
    assert "was not found" in str(cause) and "ARMResourceNotFoundFix" in str(cause)
    assert cloud.stacks["dev"].workspaces[0].jobs == {}, "a refused job must not exist afterwards"


def test_a_job_on_the_stacks_compute_and_datastore_is_accepted(cloud, tmp_path):
    datastore = cloud.stacks["dev"].outputs["dataLakeDatastoreNames"][0]
    spec = job_file(
        tmp_path,
        compute=f"azureml:{cloud.stacks['dev'].outputs['cpuClusterName']}",
        inputs={"data": {"type": "uri_folder", "path": f"azureml://datastores/{datastore}/paths/train/"}},
        outputs={"model": {"type": "mlflow_model"}},
    )
    api = client(cloud, "dev")
    name = api.submit_job(spec, experiment_name="train")
    assert api.job_status(name) == "Completed"
    assert api.register_model(name="m", path=f"azureml://jobs/{name}/outputs/model", model_type="mlflow_model",
                              description="", tags={}) == "1"  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "missing"),
    [
        ({"compute": "azureml:gpu-cluster"}, "computes/gpu-cluster'"),
        (
            {"compute": "azureml:cpu-cluster", "environment": "azureml:train-env@latest"},
            "environments/train-env'",
        ),
        (
            {"compute": "azureml:cpu-cluster", "environment": "azureml:train-env:3"},
            "environments/train-env/versions/3'",
        ),
    ],
)
def test_a_job_naming_a_compute_or_environment_nothing_created_is_refused(cloud, tmp_path, spec, missing):
    with pytest.raises(DeploymentError) as refused:
        client(cloud, "dev").submit_job(job_file(tmp_path, **spec), experiment_name=None)
    assert isinstance(_cause(refused), ResourceNotFoundError)
    assert missing in str(_cause(refused))


def _sweep_pipeline(tmp_path: Path, trial_environment: str, concurrency: object) -> Path:
    sweep = {
        "type": "sweep",
        "trial": {"command": "python train.py", "environment": trial_environment},
        "limits": {"max_total_trials": 8, "max_concurrent_trials": concurrency},
    }
    path = tmp_path / "pipeline.yml"
    path.write_text(json.dumps({"type": "pipeline", "settings": {"default_compute": "azureml:cpu-cluster"},
                                "jobs": {"train": sweep}}))  # fmt: skip
    return path


def test_a_sweeps_trial_environment_nothing_created_is_refused(cloud, tmp_path):
    """A sweep step's trials run its trial's environment: a name nothing registered is ARM's not-found."""
    with pytest.raises(DeploymentError) as refused:
        client(cloud, "dev").submit_job(
            _sweep_pipeline(tmp_path, "azureml:train-env:3", 2), experiment_name=None
        )
    assert isinstance(_cause(refused), ResourceNotFoundError)
    assert "environments/train-env/versions/3'" in str(_cause(refused))


@pytest.mark.parametrize("concurrency", ["$(AML_CPU_CLUSTER_MAX_NODES)", 0, "two"])
def test_a_sweep_whose_concurrency_is_not_a_whole_number_is_refused(cloud, tmp_path, concurrency):
    """The variable group must have filled the stack's cluster size in: anything else is a 400 naming the field."""
    dev = cloud.stacks["dev"].workspaces[0]
    dev.environments["train-env"] = ["3"]
    with pytest.raises(DeploymentError) as refused:
        client(cloud, "dev").submit_job(
            _sweep_pipeline(tmp_path, "azureml:train-env:3", concurrency), experiment_name=None
        )
    cause = _cause(refused)
    assert isinstance(cause, HttpResponseError) and cause.status_code == 400
    assert "jobs.train.limits.max_concurrent_trials" in str(cause)
    name = client(cloud, "dev").submit_job(
        _sweep_pipeline(tmp_path, "azureml:train-env:3", "2"), experiment_name=None
    )
    assert dev.jobs[name].max_concurrent_trials == {"train": 2}


def test_an_endpoint_nothing_created_is_refused(cloud):
    with pytest.raises(DeploymentError, match="get endpoint churn-ep") as refused:
        client(cloud, "dev").get_traffic("churn-ep")
    assert isinstance(_cause(refused), ResourceNotFoundError)
    assert "onlineEndpoints/churn-ep'" in str(_cause(refused))


def test_a_registry_no_stack_created_is_refused(cloud):
    with pytest.raises(DeploymentError) as refused:
        client(cloud, "dev").registry_has_model(registry="mlops-registry", name="m", version="1")
    assert isinstance(_cause(refused), ResourceNotFoundError)
    assert "Microsoft.MachineLearningServices/registries/mlops-registry'" in str(_cause(refused))


def test_a_deployment_of_a_model_the_registry_does_not_hold_is_refused(cloud, tmp_path):
    workspace = cloud.stacks["dev"].workspaces[0]
    workspace.endpoints["churn-ep"] = Endpoint(name="churn-ep", kind="online")
    registry = cloud.stacks["prod"].outputs["amlRegistryName"]
    spec = tmp_path / "blue.yml"
    spec.write_text("name: blue\nendpoint_name: churn-ep\ninstance_type: Standard_DS3_v2\n")
    model = f"azureml://registries/{registry}/models/churn/versions/7"
    with pytest.raises(DeploymentError, match="deploy blue to churn-ep") as refused:
        client(cloud, "dev").create_or_update_deployment("churn-ep", "blue", spec, model)
    assert f"registries/{registry}/models/churn/versions/7'" in str(_cause(refused))
    assert workspace.endpoints["churn-ep"].deployments == {}


def test_a_microsoft_hosted_agent_calling_a_private_workspace_is_refused(cloud):
    """A workspace with public network access disabled accepts connections only through its private endpoints, so
    a client outside the VNet (a Microsoft-hosted agent) is refused: https://learn.microsoft.com/en-us/azure/
    machine-learning/how-to-configure-private-link ("restrict a workspace to only accept connections from a
    virtual network by creating a private endpoint"). Azure ML answers 403 UserError "Access to workspace was
    denied based on workspace private link configuration." (the text reported in MicrosoftDocs/azure-docs#90426).
    """
    assert cloud.stacks["staging"].workspaces[0].public_network_access is False
    with pytest.raises(DeploymentError, match="HTTP 403") as refused:
        client(cloud, "staging").job_status("any-job")
    cause = _cause(refused)
    assert isinstance(cause, HttpResponseError) and cause.status_code == 403
    assert "Access to workspace was denied based on workspace private link configuration." in str(cause)
    assert [c.refused != "" for c in cloud.calls] == [True]


def test_an_agent_in_the_stacks_vnet_reaches_its_private_workspace_and_others_do_not(cloud):
    """The same call from the stack's own pool (its `agentPoolName`, in the VNet that holds the workspace's private
    endpoint) goes through; a pool named for another stack's VNet is outside this one."""
    cloud.stacks["staging"].outputs["agentPoolName"] = "mdp-mlops-staging"
    cloud.stacks["prod"].outputs["agentPoolName"] = "mdp-mlops-prod"
    inside = client(cloud, "staging", Caller(pool="mdp-mlops-staging"))
    with pytest.raises(DeploymentError, match="get job missing-job") as refused:
        inside.job_status("missing-job")
    assert isinstance(_cause(refused), ResourceNotFoundError), (
        "inside the VNet the call reaches the workspace"
    )
    with pytest.raises(DeploymentError, match="HTTP 403"):
        client(cloud, "staging", Caller(pool="mdp-mlops-prod")).job_status("missing-job")
    # Reached the workspace, then no such job; then refused at the workspace's door.
    assert [bool(c.refused) for c in cloud.calls] == [False, True, True]
    assert "not found" in cloud.calls[1].refused and "private link" in cloud.calls[2].refused


def test_a_public_workspace_answers_a_microsoft_hosted_agent(cloud):
    assert cloud.stacks["dev"].workspaces[0].public_network_access is True
    with pytest.raises(DeploymentError) as refused:
        client(cloud, "dev").job_status("missing-job")
    assert isinstance(_cause(refused), ResourceNotFoundError)


def test_diagnostic_settings_go_through_arm_which_private_endpoints_do_not_restrict(cloud):
    """Private endpoints do not affect the Azure control plane (management operations through Azure Resource
    Manager): https://learn.microsoft.com/en-us/azure/machine-learning/how-to-configure-private-link
    (Limitations). Diagnostic settings are ARM resources, so a hosted agent may write them; the endpoint must exist."""
    workspace = cloud.stacks["prod"].workspaces[0]
    workspace.endpoints["churn-ep"] = Endpoint(name="churn-ep", kind="online")
    endpoint_id = f"{workspace.resource_id}/onlineEndpoints/churn-ep"
    api = client(cloud, "prod")
    api.put_diagnostic_setting(endpoint_id, "alerts", {"workspaceId": "law"})
    assert api.diagnostic_settings(endpoint_id) == [{"name": "alerts", "properties": {"workspaceId": "law"}}]
    with pytest.raises(DeploymentError) as refused:
        api.diagnostic_settings(f"{workspace.resource_id}/onlineEndpoints/other-ep")
    assert isinstance(_cause(refused), ResourceNotFoundError)


def test_a_workspace_no_stack_deployed_does_not_exist(stack_twins):
    cloud = cloud_of(stack_twins, deployed=False)
    with pytest.raises(DeploymentError) as refused:
        client(cloud, "dev").job_status("j")
    assert "workspaces/mlw-mlops-dev-we'" in str(_cause(refused))


def test_a_workspace_uses_a_private_registry_only_once_its_owner_approved_the_connection(
    stack_twins, tmp_path
):
    """A workspace reaches a registry with public access off through a private endpoint to it from its network
    (https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation); the managed network
    requests that connection as the workspace, and it passes traffic only once approved: until then it is Pending
    (https://learn.microsoft.com/azure/private-link/private-endpoint-overview#access-to-a-private-link-resource-using-approval-workflow).
    No role approves connections to an Azure ML registry, so the owner approves them once (docs/first-run.md). A
    staging job using a registry environment is refused with the registry's private link 403 before that step and
    accepted after; the step approves exactly the workspaces whose managed network has a rule to the registry."""
    cloud = cloud_of(stack_twins, deployed=True, registry_connections_approved=False)
    (registry,) = cloud.stacks["prod"].registries
    registry.environments["train-env"] = ["1"]
    outputs = cloud.stacks["staging"].outputs
    spec = job_file(
        tmp_path,
        compute=f"azureml:{outputs['cpuClusterName']}",
        environment=f"azureml://registries/{registry.name}/environments/train-env/versions/1",
    )
    inside = Caller.from_pool({"name": outputs["agentPoolName"]})
    with pytest.raises(DeploymentError, match="submit job") as refused:
        client(cloud, "staging", inside).submit_job(spec, experiment_name="train")
    cause = _cause(refused)
    assert isinstance(cause, HttpResponseError) and cause.status_code == 403
    assert "registry private link configuration" in str(cause)
    assert cloud.stacks["staging"].workspaces[0].jobs == {}

    # Every stack's workspace has the rule (dev, staging and prod's own): each connection is approved, once.
    expected = sorted(
        f"{cloud.stacks[s].outputs['workspaceName']} -> {registry.name}" for s in ("dev", "staging", "prod")
    )
    assert sorted(cloud.approve_registry_connections()) == expected
    assert cloud.approve_registry_connections() == []  # approved once, for good
    client(cloud, "staging", inside).submit_job(spec, experiment_name="train")
    assert len(cloud.stacks["staging"].workspaces[0].jobs) == 1


def test_a_workspace_without_a_private_endpoint_rule_to_the_registry_is_never_approved(stack_twins, tmp_path):
    """The owner can approve only a connection that exists: a workspace whose managed network has no rule to the
    registry (the stack planned while the registry did not exist) stays refused after the approval step."""
    cloud = cloud_of(stack_twins, deployed=True, registry_connections_approved=False)
    (registry,) = cloud.stacks["prod"].registries
    registry.environments["train-env"] = ["1"]
    workspace = cloud.stacks["staging"].workspaces[0]
    workspace.private_endpoint_rules = {
        rule: target
        for rule, target in workspace.private_endpoint_rules.items()
        if target != registry.resource_id
    }
    cloud.approve_registry_connections()
    outputs = cloud.stacks["staging"].outputs
    spec = job_file(
        tmp_path,
        compute=f"azureml:{outputs['cpuClusterName']}",
        environment=f"azureml://registries/{registry.name}/environments/train-env/versions/1",
    )
    with pytest.raises(DeploymentError, match="submit job") as refused:
        client(cloud, "staging", Caller.from_pool({"name": outputs["agentPoolName"]})).submit_job(
            spec, experiment_name="train"
        )
    assert "registry private link configuration" in str(_cause(refused))
