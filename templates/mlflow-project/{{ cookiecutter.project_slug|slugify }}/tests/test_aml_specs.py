"""Every Azure ML spec loads with the SDK's own loader, and the checks the loaders miss do fire."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")

{%- if cookiecutter.framework == "scikit-learn" %}
from {{ cookiecutter.package_name }} import tune
{%- endif %}
from {{ cookiecutter.package_name }}.aml_specs import validate_spec, validate_tree
from {{ cookiecutter.package_name }}.errors import SpecError
from {{ cookiecutter.package_name }}.reference import REFERENCE_DATA_NAME
{%- if cookiecutter.framework == "scikit-learn" %}
from {{ cookiecutter.package_name }}.sweep_trial import PRIMARY_METRIC
from {{ cookiecutter.package_name }}.train import TrainParams
{%- endif %}

PROJECT = Path(__file__).resolve().parents[1]


def test_every_spec_loads() -> None:
    entities = validate_tree(PROJECT / "aml")
    kinds = {type(entity).__name__ for entity in entities.values()}
    assert {"Environment", "PipelineJob", "Command"} <= kinds


def test_a_passed_gate_registers_the_monitors_reference_data() -> None:
    """The pipeline output `training_data` is registered as the data asset aml/monitoring.yml reads, and only the
    step that runs after the gate, `register`, writes it."""
    job = validate_spec(PROJECT / "aml" / "pipeline.yml")
    output = job.outputs["training_data"]
    assert (output.name, output.type) == (REFERENCE_DATA_NAME, "mltable")
    rest = job._to_rest_object().properties
    assert rest.outputs["training_data"].asset_name == REFERENCE_DATA_NAME
    writers = [name for name, step in rest.jobs.items() if "training_data" in (step.get("outputs") or {})]
    assert writers == ["register"]
    assert "--reference-data ${{ '{{' }}outputs.training_data}}" in job.jobs["register"].command


def test_the_triggering_event_reaches_the_register_step() -> None:
    from azure.ai.ml import load_job

    override = {"inputs.triggering_event_id": "evt-1"}
    job = load_job(PROJECT / "aml" / "pipeline.yml", params_override=[override])
    assert job.inputs["triggering_event_id"]._data == "evt-1"
    assert "--triggering-event-id ${{ '{{' }}inputs.triggering_event_id}}" in job.jobs["register"].command


{%- if cookiecutter.framework == "scikit-learn" %}


def test_the_sweep_searches_the_one_search_space() -> None:
    """aml/pipeline.yml's sweep is generated from tune.DEFAULT_SPACE (`python -m ... tune --sweep-space`): the
    committed spec must equal it, every candidate of the grid runs once, and each searched hyperparameter is a
    trial input of TrainParams' type, as Microsoft requires of a sweep's trial in a pipeline
    (https://learn.microsoft.com/en-us/azure/machine-learning/how-to-use-sweep-in-pipeline)."""
    sweep = validate_spec(PROJECT / "aml" / "pipeline.yml").jobs["train"]
    rest = sweep._to_rest_object()
    assert rest["search_space"] == tune.sweep_search_space(tune.DEFAULT_SPACE)
    assert rest["sampling_algorithm"] == "grid"
    assert rest["limits"]["max_total_trials"] == len(tune.candidates(TrainParams(), tune.DEFAULT_SPACE))
    types = {int: "integer", float: "number"}
    trial_inputs = {name: spec.type for name, spec in sweep.trial.inputs.items()}
    assert {name: trial_inputs.get(name) for name in tune.DEFAULT_SPACE} == {
        name: types[type(getattr(TrainParams(), name))] for name in tune.DEFAULT_SPACE
    }


def test_the_sweeps_best_trial_feeds_the_gate() -> None:
    """Microsoft's sweep-in-pipeline page has the next step read the sweep step's outputs (those of its best
    trial) and requires the trial to log the metric named as `primary_metric` and to take the searched
    hyperparameters as inputs (https://learn.microsoft.com/en-us/azure/machine-learning/how-to-use-sweep-in-pipeline):
    evaluate reads the sweep's `candidate`, and the objective is the metric sweep_trial logs (maximised:
    tune.SCORING is higher-better).
    The early-termination policy reads that metric at every fold from the second on
    (https://learn.microsoft.com/en-us/azure/machine-learning/how-to-tune-hyperparameters)."""
    job = validate_spec(PROJECT / "aml" / "pipeline.yml")
    rest = job._to_rest_object().properties.jobs
    assert rest["train"]["objective"] == {"goal": "maximize", "primary_metric": PRIMARY_METRIC}
    assert rest["train"]["early_termination"] == {
        "policy_type": "MedianStopping",
        "evaluation_interval": 1,
        "delay_evaluation": 2,
    }
    assert rest["evaluate"]["inputs"]["candidate"]["value"] == "${{ '{{' }}parent.jobs.train.outputs.candidate}}"
    assert "candidate" in rest["train"]["outputs"]


def test_the_sweeps_data_reaches_its_trials() -> None:
    """The SDK silently drops a sweep node's input that its trial does not declare: the prepared data and the
    fixed hyperparameter must survive into the job Azure ML receives."""
    rest = validate_spec(PROJECT / "aml" / "pipeline.yml")._to_rest_object().properties.jobs["train"]
    assert set(rest["inputs"]) == {"prepared", "subsample"}
    assert rest["inputs"]["prepared"]["value"] == "${{ '{{' }}parent.jobs.prep.outputs.prepared}}"


def test_the_cluster_size_override_sets_the_sweeps_concurrency() -> None:
    """CD passes the stack's cpuClusterMaxNodes as this dotted override (a string, as --set does)."""
    from azure.ai.ml import load_job

    override = {"jobs.train.limits.max_concurrent_trials": "8"}
    job = load_job(PROJECT / "aml" / "pipeline.yml", params_override=[override])
    assert job._to_rest_object().properties.jobs["train"]["limits"]["max_concurrent_trials"] == 8
{%- endif %}


{%- if cookiecutter.deployment in ("batch", "both") %}


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
{%- endif %}


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """aml/ and src/ copied, so a test can break a spec without touching the project."""
    for folder in ("aml", "src"):
        shutil.copytree(PROJECT / folder, tmp_path / folder)
    return tmp_path


def test_a_missing_code_folder_is_reported(project_copy: Path) -> None:
    pipeline = project_copy / "aml" / "pipeline.yml"
    pipeline.write_text(pipeline.read_text().replace("code: ../src", "code: ../source", 1))
    with pytest.raises(SpecError, match=r"code: '../source' does not exist"):
        validate_tree(project_copy / "aml")


def test_a_command_using_an_undeclared_input_is_reported(project_copy: Path) -> None:
    pipeline = project_copy / "aml" / "pipeline.yml"
    pipeline.write_text(
        pipeline.read_text().replace("--data ${{ '{{' }}inputs.prepared}}", "--data ${{ '{{' }}inputs.prepped}}", 1)
    )
    with pytest.raises(SpecError, match=r"command uses inputs\.prepped, which is not declared"):
        validate_tree(project_copy / "aml")


{%- if cookiecutter.framework == "scikit-learn" %}


def test_a_sweep_input_its_trial_does_not_declare_is_reported(project_copy: Path) -> None:
    pipeline = project_copy / "aml" / "pipeline.yml"
    pipeline.write_text(pipeline.read_text().replace("        subsample:\n          type: number\n", "", 1))
    with pytest.raises(
        SpecError, match=r"jobs\.train: binds inputs\.subsample, which its trial does not declare"
    ):
        validate_tree(project_copy / "aml")
{%- endif %}


def test_a_binding_to_a_missing_step_output_is_reported(project_copy: Path) -> None:
    pipeline = project_copy / "aml" / "pipeline.yml"
    broken = pipeline.read_text().replace("prep.outputs.prepared}}", "prep.outputs.cleaned}}", 1)
    pipeline.write_text(broken)
    with pytest.raises(SpecError, match=r"parent\.jobs\.prep\.outputs\.cleaned, which does not exist"):
        validate_tree(project_copy / "aml")
