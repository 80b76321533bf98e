"""pipelines/azure-pipelines/ml.yml run step by step against the twins: train in dev, register and share to the
registry, release blue/green to staging then prod, optionally score a batch in prod."""

from __future__ import annotations

import pytest

from pipelines.validation.documents import PIPELINES_ROOT
from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.twin.ml_layout import ML_PARAMETERS, ml_project

pytestmark = pytest.mark.slow


def test_ml_pipeline_releases_the_one_registry_model_to_staging_and_prod(cloud, tmp_path, generated):
    project = ml_project(tmp_path, cloud.stacks["dev"], generated("both", "azure-pipelines"))
    model, endpoint_name = ML_PARAMETERS["modelName"], ML_PARAMETERS["onlineEndpoint"]
    run = run_azure_pipeline(PIPELINES_ROOT / "ml.yml", cloud, project)
    assert run.failures() == [], "\n\n".join(run.failures())
    registry_name = cloud.stacks["prod"].outputs["amlRegistryName"]
    registry = next(r for s in cloud.deployed() for r in s.registries if r.name == registry_name)
    assert {name: list(versions) for name, versions in registry.models.items()} == {model: ["1"]}, (
        "trained once"
    )
    for stack in ("staging", "prod"):
        endpoint = cloud.stacks[stack].workspaces[0].endpoints[endpoint_name]
        live = [name for name, share in endpoint.traffic.items() if share == 100]
        assert len(live) == 1, f"{stack}: {endpoint.traffic}"
        assert (
            endpoint.deployments[live[0]].model
            == f"azureml://registries/{registry_name}/models/{model}/versions/1"
        )
        assert cloud.stacks[stack].workspaces[0].jobs == {}, f"{stack} must not retrain"
    assert cloud.refusals() == []


def test_ml_pipeline_batch_scoring_reads_a_datastore_of_the_prod_stack(cloud, tmp_path, generated):
    project = ml_project(tmp_path, cloud.stacks["dev"], generated("both", "azure-pipelines"))
    run = run_azure_pipeline(PIPELINES_ROOT / "ml.yml", cloud, project, {"runBatchScoring": True})
    assert run.failures() == [], "\n\n".join(run.failures())
    assert [job.job_type for job in cloud.stacks["prod"].workspaces[0].jobs.values()] == ["batch"]
    assert cloud.refusals() == []
