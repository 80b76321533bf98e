"""The training sweep in aml/pipeline.yml (scikit-learn variant): its search space, its best trial feeding the gate,
its data reaching the trials, and its concurrency following the stack's cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")

from {{ cookiecutter.package_name }} import tune
from {{ cookiecutter.package_name }}.aml_specs import validate_spec, validate_tree
from {{ cookiecutter.package_name }}.errors import SpecError
from {{ cookiecutter.package_name }}.sweep_trial import PRIMARY_METRIC
from {{ cookiecutter.package_name }}.train import TrainParams

PROJECT = Path(__file__).resolve().parents[1]


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


def test_a_sweep_input_its_trial_does_not_declare_is_reported(project_copy: Path) -> None:
    pipeline = project_copy / "aml" / "pipeline.yml"
    pipeline.write_text(pipeline.read_text().replace("        subsample:\n          type: number\n", "", 1))
    with pytest.raises(
        SpecError, match=r"jobs\.train: binds inputs\.subsample, which its trial does not declare"
    ):
        validate_tree(project_copy / "aml")
