"""What a release relies on: the smoke-test request, data collection and the monitoring thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data import CONTRACT
from {{ cookiecutter.package_name }}.payload import AML_KEY, from_aml_online, sample_request
from {{ cookiecutter.package_name }}.reference import REFERENCE_DATA_NAME, NotARegistryModelError
from {{ cookiecutter.package_name }}.settings import MODEL_NAME

PROJECT = Path(__file__).resolve().parents[1]
ONLINE = PROJECT / "aml" / "online"

pytestmark = pytest.mark.skipif(not ONLINE.is_dir(), reason="online deployment not chosen")


def test_the_smoke_test_request_is_what_payload_generates() -> None:
    """CD smoke-tests the idle colour with this file: it must stay in step with the model's features."""
    committed = json.loads((ONLINE / "sample-request.json").read_text(encoding="utf-8"))
    assert committed == sample_request(2, AML_KEY)
    assert len(from_aml_online(committed)) == 2


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_both_colours_collect_model_inputs_and_outputs(colour: str) -> None:
    spec = yaml.safe_load((ONLINE / f"{colour}.yml").read_text(encoding="utf-8"))
    collections = spec["data_collector"]["collections"]
    assert {name for name, setting in collections.items() if setting["enabled"] == "true"} == {
        "model_inputs",
        "model_outputs",
    }


def test_every_monitoring_threshold_says_what_it_flags() -> None:
    lines = (PROJECT / "aml" / "monitoring.yml").read_text(encoding="utf-8").splitlines()
    inside, undocumented, thresholds = False, [], 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("metric_thresholds:"):
            inside, indent = True, len(line) - len(line.lstrip())
            continue
        if inside and stripped and len(line) - len(line.lstrip()) <= indent:
            inside = False
        if inside and ":" in stripped and not stripped.startswith("#") and not stripped.endswith(":"):
            thresholds += 1
            if not lines[number - 1].strip().startswith("#"):
                undocumented.append(stripped)
    assert thresholds >= 4
    assert undocumented == []


def test_the_monitor_is_pointed_at_the_live_colour() -> None:
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from {{ cookiecutter.package_name }}.monitoring import load_monitor

    monitor = load_monitor(PROJECT / "aml" / "monitoring.yml", "{{ cookiecutter.endpoint_name }}", "green")

    target = monitor.create_monitor.monitoring_target
    assert target.endpoint_deployment_id == "azureml:{{ cookiecutter.endpoint_name }}:green"
    assert target.ml_task == CONTRACT.task
    signals = {type(signal).__name__ for signal in monitor.create_monitor.monitoring_signals.values()}
    assert signals == {"DataDriftSignal", "PredictionDriftSignal", "DataQualitySignal"}
    assert monitor.create_monitor.alert_notification.emails == ["{{ cookiecutter.alert_email }}"]


def test_the_monitor_names_its_model_where_the_lifecycle_handler_looks() -> None:
    """The schedule's tags are the only tags a monitor has; they must reach Azure ML in the request body."""
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from {{ cookiecutter.package_name }}.monitoring import MODEL_NAME_TAG, load_monitor

    spec = PROJECT / "aml" / "monitoring.yml"
    assert yaml.safe_load(spec.read_text(encoding="utf-8"))["tags"] == {MODEL_NAME_TAG: MODEL_NAME}
    monitor = load_monitor(spec, "{{ cookiecutter.endpoint_name }}", "blue")

    assert monitor.tags == {MODEL_NAME_TAG: MODEL_NAME}
    assert monitor._to_rest_object().properties.tags == {MODEL_NAME_TAG: MODEL_NAME}


def test_the_monitor_compares_with_the_training_data_of_the_deployed_version() -> None:
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from {{ cookiecutter.package_name }}.monitoring import load_monitor

    spec = PROJECT / "aml" / "monitoring.yml"
    endpoint = "{{ cookiecutter.endpoint_name }}"
    registry = "mlreg-mlops-shared"
    deployed = f"azureml://registries/{registry}/models/{MODEL_NAME}/versions/4"
    released = load_monitor(spec, endpoint, "green", deployed)
    workspace_default = load_monitor(spec, endpoint, "green")

    signals = released.create_monitor.monitoring_signals.values()
    expected = f"azureml://registries/{registry}/data/{REFERENCE_DATA_NAME}/versions/4"
    assert [signal.reference_data.input_data.path for signal in signals] == [expected] * 3
    assert {signal.reference_data.input_data.type for signal in signals} == {"mltable"}
    rest = released._to_rest_object().properties.action.monitor_definition.signals
    assert {signal.reference_data.uri for signal in rest.values()} == {expected}
    # Without a release (dev): the workspace asset the training pipeline registers.
    defaults = workspace_default.create_monitor.monitoring_signals.values()
    assert {signal.reference_data.input_data.path for signal in defaults} == {f"{REFERENCE_DATA_NAME}@latest"}
    with pytest.raises(NotARegistryModelError, match="registry model URI"):
        load_monitor(spec, endpoint, "green", f"azureml:{MODEL_NAME}:4")


def test_the_monitor_watches_the_contracts_features_and_target() -> None:
    """Drift and quality signals watch exactly the contract's features, and every signal's reference names the
    contract's target (data_column_names.target_column), so a new contract re-points the monitor by itself.
    https://learn.microsoft.com/azure/machine-learning/how-to-monitor-model-performance
    """
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from {{ cookiecutter.package_name }}.monitoring import load_monitor

    monitor = load_monitor(PROJECT / "aml" / "monitoring.yml", "{{ cookiecutter.endpoint_name }}", "green")

    signals = monitor.create_monitor.monitoring_signals
    assert signals["feature_drift"].features == CONTRACT.feature_names
    assert signals["input_quality"].features == CONTRACT.feature_names
    assert {name: s.reference_data.data_column_names for name, s in signals.items()} == {
        name: {"target_column": CONTRACT.target.name} for name in signals
    }
    rest = monitor._to_rest_object().properties.action.monitor_definition.signals
    assert rest["feature_drift"].features.features == CONTRACT.feature_names


def test_the_monitor_declares_category_features_categorical(colour_contract: DataContract) -> None:
    """Azure ML model monitoring measures drift and quality by feature type, a categorical feature with its own
    metrics (Jensen-Shannon distance, PSI, Pearson's chi-squared test): the spec names each feature's type
    (`feature_type_override`) from the contract rather than leaving Azure ML to infer it from the data.
    https://learn.microsoft.com/azure/machine-learning/concept-model-monitoring
    """
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from {{ cookiecutter.package_name }}.monitoring import load_monitor

    spec = PROJECT / "aml" / "monitoring.yml"
    monitor = load_monitor(spec, "{{ cookiecutter.endpoint_name }}", "green", contract=colour_contract)
    packaged = load_monitor(spec, "{{ cookiecutter.endpoint_name }}", "green")

    expected = {
        feature.name: "numerical" if feature.categories is None else "categorical"
        for feature in colour_contract.features
    }
    assert expected["colour"] == "categorical"
    signals = monitor.create_monitor.monitoring_signals
    assert signals["feature_drift"].feature_type_override == expected
    assert signals["input_quality"].feature_type_override == expected
    rest = monitor._to_rest_object().properties.action.monitor_definition.signals
    assert rest["feature_drift"].feature_data_type_override == expected
    thresholds = signals["feature_drift"].metric_thresholds
    assert thresholds.categorical.jensen_shannon_distance == thresholds.numerical.jensen_shannon_distance
    assert signals["input_quality"].metric_thresholds.categorical.out_of_bounds_rate is not None
    overrides = packaged.create_monitor.monitoring_signals["feature_drift"].feature_type_override
    assert overrides == {name: kind for name, kind in expected.items() if name != "colour"}
