"""The batch deployment spec (batch deployments only): the stack's cluster size and the release's environment reach
the deployment Azure ML gets."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")

PROJECT = Path(__file__).resolve().parents[1]


def test_the_cluster_size_override_sets_the_batch_deployments_instances() -> None:
    """CD passes the stack's cpuClusterMaxNodes as `resources.instance_count` (batch_invoke --set/--overrides) and
    pins the environment its scoring script runs on; the loader turns both into the deployment Azure ML gets."""
    from azure.ai.ml import load_batch_deployment

    overrides = [{"resources.instance_count": "8"}, {"environment": "azureml:env:0123456789abcdef"}]
    spec = PROJECT / "aml" / "batch" / "deployment.yml"
    deployment = load_batch_deployment(spec, params_override=overrides)
    assert deployment.resources.instance_count == 8
    # The SDK keeps name:version, without the azureml: prefix.
    assert deployment.environment == "env:0123456789abcdef"
    assert deployment.code_configuration.scoring_script.endswith("batch_driver.py")
