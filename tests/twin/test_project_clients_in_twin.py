"""The twin's answer to a generated project's Azure boundary (`<package>.aml_clients.from_args`, used by `promote`
and `monitoring`): the same refusals as the scripts' adapter, through the SDK-shaped clients. Fakes the Azure
boundary only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.model import AzureTwin
from tests.support.azure_twin.project_sdk import clients_factory

HOSTED = Caller.from_pool({"vmImage": "ubuntu-24.04"})


@dataclass(frozen=True)
class Clients:
    """The shape of the generated project's `aml_clients.AmlClients`."""

    workspace: Any
    registry: Any = None
    tracking: Any = None


def clients(cloud: AzureTwin, stack: str, caller: Caller = HOSTED, registry: str = "") -> Clients:
    outputs = cloud.stacks[stack].outputs
    settings = {
        "subscription": outputs["subscriptionId"],
        "resource_group": outputs["resourceGroupName"],
        "workspace": outputs["workspaceName"],
    }
    return clients_factory(cloud, caller, Clients)(settings, registry=registry, tracking=True)


def _trained(cloud: AzureTwin, tmp_path: Path, stack: str = "dev") -> str:
    """A generated project's training pipeline (it has the `registered` output), submitted in `stack`."""
    from tests.support.azure_twin.cloud import Cloud

    spec = tmp_path / "pipeline.yml"
    spec.write_text(
        "type: pipeline\nexperiment_name: churn\noutputs:\n  registered: {type: uri_folder}\n"
        "  training_data: {type: mltable}\n"
    )
    workspace = cloud.stacks[stack].workspaces[0]
    workspace.public_network_access = True
    return Cloud(cloud, HOSTED).submit_job(workspace, spec, None, {})


def test_the_training_jobs_registered_output_names_the_version_the_job_registered(cloud, tmp_path):
    job = _trained(cloud, tmp_path)
    made = clients(cloud, "dev")
    made.workspace.jobs.download(name=job, output_name="registered", download_path=str(tmp_path / "out"))
    registered = (tmp_path / "out" / "named-outputs" / "registered" / "registered.json").read_text()
    assert '"model_name": "churn"' in registered and '"version": "1"' in registered
    assert made.tracking.get_model_version("churn", "1").run_id == job
    with pytest.raises(ResourceNotFoundError, match="jobs/no-such-job'"):
        made.workspace.jobs.download(
            name="no-such-job", output_name="registered", download_path=str(tmp_path)
        )


def test_sharing_from_a_microsoft_hosted_agent_into_the_private_registry_is_refused(cloud, tmp_path):
    """A registry with public network access disabled answers only through its private endpoints (403 from
    anywhere else): https://learn.microsoft.com/en-us/azure/machine-learning/how-to-registry-network-isolation"""
    _trained(cloud, tmp_path)
    registry = cloud.stacks["prod"].outputs["amlRegistryName"]
    assert cloud.stacks["prod"].registries[0].public_network_access is False
    made = clients(cloud, "dev", registry=registry)
    with pytest.raises(HttpResponseError) as refused:
        made.workspace.models.share(
            name="churn", version="1", registry_name=registry, share_with_name="churn", share_with_version="1"
        )
    assert refused.value.status_code == 403
    assert cloud.stacks["prod"].registries[0].models == {}


def test_a_monitor_on_a_deployment_nothing_created_is_refused(cloud):
    from types import SimpleNamespace

    cloud.stacks["dev"].workspaces[0].public_network_access = True
    target = SimpleNamespace(endpoint_deployment_id="azureml:churn-ep:green")
    schedule = SimpleNamespace(
        name="churn-monitor", create_monitor=SimpleNamespace(monitoring_target=target, monitoring_signals={})
    )
    with pytest.raises(ResourceNotFoundError, match="onlineEndpoints/churn-ep'"):
        clients(cloud, "dev").workspace.schedules.begin_create_or_update(schedule)
    assert cloud.stacks["dev"].workspaces[0].schedules == {}
