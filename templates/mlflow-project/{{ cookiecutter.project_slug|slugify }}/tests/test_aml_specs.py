"""Every Azure ML spec loads with the SDK's own loader, and the checks the loaders miss do fire."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")

from {{ cookiecutter.package_name }}.aml_specs import validate_spec, validate_tree
from {{ cookiecutter.package_name }}.errors import SpecError
from {{ cookiecutter.package_name }}.reference import REFERENCE_DATA_NAME

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


def test_a_binding_to_a_missing_step_output_is_reported(project_copy: Path) -> None:
    pipeline = project_copy / "aml" / "pipeline.yml"
    broken = pipeline.read_text().replace("prep.outputs.prepared}}", "prep.outputs.cleaned}}", 1)
    pipeline.write_text(broken)
    with pytest.raises(SpecError, match=r"parent\.jobs\.prep\.outputs\.cleaned, which does not exist"):
        validate_tree(project_copy / "aml")
