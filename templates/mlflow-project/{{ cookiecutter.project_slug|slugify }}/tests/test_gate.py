"""The gate: a first model needs the absolute thresholds, a challenger must beat the champion."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import evaluate, pipeline
from {{ cookiecutter.package_name }}.errors import GateRejectedError, StaleVerdictError
from {{ cookiecutter.package_name }}.evaluate import champion_version, judge
from {{ cookiecutter.package_name }}.gate import GateConfig, GateConfigError
from {{ cookiecutter.package_name }}.handoff import Candidate, Verdict
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.register import register
from {{ cookiecutter.package_name }}.settings import CHAMPION_ALIAS
from {{ cookiecutter.package_name }}.{{ "torch_train" if cookiecutter.framework == "pytorch" else "train" }} import TrainParams, train
{% if cookiecutter.framework == "pytorch" %}
WEAK = TrainParams(epochs=1, batch_size=512, learning_rate=0.0005)
"""Two steps of a tiny learning rate: a real network, and clearly worse than the baseline."""
{%- else %}
WEAK = TrainParams(n_estimators=1, learning_rate=0.1, max_depth=1)
"""A single stump: a real model, and clearly worse than the baseline."""

{%- endif %}

GATE_METRIC = next(
    name
    for name, rule in GateConfig.load().rules.items()
    if rule.greater_is_better and rule.min_absolute_change
)
"""The packaged gate's metric that a challenger must improve (gate.toml, for the data contract's task)."""


@pytest.fixture(scope="module")
def weak_candidate(prepared: PreparedData, tmp_path_factory: pytest.TempPathFactory) -> Candidate:
    return train(prepared.train.parent, tmp_path_factory.mktemp("weak"), WEAK)


@pytest.fixture(scope="module")
def test_rows(prepared: PreparedData) -> pd.DataFrame:
    return pd.read_parquet(prepared.test)


@pytest.fixture
def lenient_gate(tmp_path: Path) -> GateConfig:
    """Any model may be the first champion; a challenger must still improve by 0.001."""
    path = tmp_path / "gate.toml"
    path.write_text(
        f"[metrics.{GATE_METRIC}]\ngreater_is_better = true\nthreshold = -10.0\nmin_absolute_change = 0.001\n"
    )
    return GateConfig.load(path)


def test_a_first_model_that_clears_the_packaged_gate_becomes_champion(
    good_candidate: Candidate, test_rows: pd.DataFrame, model_name: str
) -> None:
    gate = GateConfig.load()

    verdict = judge(good_candidate, test_rows, gate, model_name)

    assert verdict.passed, verdict.failures
    assert verdict.champion_version is None
    assert set(gate.rules) <= set(verdict.candidate_metrics), (
        "gate.toml names a metric evaluate never reports"
    )
    version = register(verdict, model_name)
    assert champion_version(model_name) == str(version.version)


def test_a_first_model_below_the_absolute_thresholds_is_not_registered(
    weak_candidate: Candidate, test_rows: pd.DataFrame, model_name: str
) -> None:
    verdict = judge(weak_candidate, test_rows, GateConfig.load(), model_name)

    assert not verdict.passed
    assert verdict.failures
    with pytest.raises(GateRejectedError, match="rejected by the gate"):
        register(verdict, model_name)
    assert champion_version(model_name) is None


def test_a_worse_candidate_is_rejected_and_the_champion_stays(
    good_candidate: Candidate,
    weak_candidate: Candidate,
    prepared: PreparedData,
    model_name: str,
    tmp_path: Path,
) -> None:
    champion = register(
        judge(good_candidate, pd.read_parquet(prepared.test), GateConfig.load(), model_name), model_name
    )
    weak_candidate.write(tmp_path / "candidate")

    exit_code = evaluate.main([
        "--data", str(prepared.test.parent), "--candidate", str(tmp_path / "candidate"),
        "--output", str(tmp_path / "verdict"), "--model-name", model_name,
    ])  # fmt: skip

    assert exit_code == 1
    verdict = Verdict.read(tmp_path / "verdict")
    assert not verdict.passed
    assert verdict.champion_version == str(champion.version)
    assert any(GATE_METRIC in failure for failure in verdict.failures)
    with pytest.raises(GateRejectedError):
        register(verdict, model_name)
    assert champion_version(model_name) == str(champion.version)
    assert len(MlflowClient().search_model_versions(f"name = '{model_name}'")) == 1


def test_a_better_candidate_replaces_the_champion(
    good_candidate: Candidate,
    weak_candidate: Candidate,
    test_rows: pd.DataFrame,
    lenient_gate: GateConfig,
    model_name: str,
) -> None:
    first = register(judge(weak_candidate, test_rows, lenient_gate, model_name), model_name)

    verdict = judge(good_candidate, test_rows, lenient_gate, model_name)

    assert verdict.passed, verdict.failures
    assert verdict.champion_version == str(first.version)
    assert verdict.candidate_metrics[GATE_METRIC] > verdict.champion_metrics[GATE_METRIC]
    second = register(verdict, model_name)
    assert champion_version(model_name) == str(second.version) != str(first.version)
    tags = MlflowClient().get_model_version_by_alias(model_name, CHAMPION_ALIAS).tags
    assert tags["replaced_champion"] == str(first.version)


def test_retraining_the_same_model_does_not_replace_the_champion(
    good_candidate: Candidate, test_rows: pd.DataFrame, lenient_gate: GateConfig, model_name: str
) -> None:
    register(judge(good_candidate, test_rows, lenient_gate, model_name), model_name)

    verdict = judge(good_candidate, test_rows, lenient_gate, model_name)

    assert not verdict.passed
    assert any("minimum absolute change" in failure for failure in verdict.failures)


def test_a_verdict_made_against_an_older_champion_is_refused(
    good_candidate: Candidate, test_rows: pd.DataFrame, lenient_gate: GateConfig, model_name: str
) -> None:
    verdict = judge(good_candidate, test_rows, lenient_gate, model_name)
    register(verdict, model_name)  # someone else promoted in between

    with pytest.raises(StaleVerdictError, match="evaluate the candidate again"):
        register(verdict, model_name)


def test_the_pipeline_command_trains_gates_and_registers(tmp_path: Path, model_name: str) -> None:
{%- if cookiecutter.framework == "pytorch" %}
    exit_code = pipeline.main(["--workdir", str(tmp_path), "--model-name", model_name, "--epochs", "6",
                               "--batch-size", "64", "--learning-rate", "0.005"])  # fmt: skip
{%- else %}
    exit_code = pipeline.main(["--workdir", str(tmp_path), "--model-name", model_name, "--n-estimators", "20",
                               "--learning-rate", "0.1", "--max-depth", "2"])  # fmt: skip
{%- endif %}

    assert exit_code == 0
    assert champion_version(model_name) == "1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[metrics.x]\ngreater_is_better = true\nthreshold = 1\ntypo = 2\n", r"unknown key\(s\) \['typo'\]"),
        ("[metrics.x]\ngreater_is_better = true\nmin_absolute_change = 0.1\n", "no metric has an absolute"),
        (
            "[metrics.x]\ngreater_is_better = 'yes'\nthreshold = 1\n",
            "`greater_is_better` must be true or false",
        ),
        ("[metrics.x]\ngreater_is_better = true\n", "declares none of"),
        ("title = 'no metrics'\n", r"at least one \[metrics.<name>\] table"),
        ("[metrics.x]\ngreater_is_better = true\nthreshold = 1\n", r"\['x'\] not reported by mlflow"),
    ],
)
def test_a_gate_file_that_would_check_less_than_it_says_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(content)
    with pytest.raises(GateConfigError, match=message):
        GateConfig.load(path)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_a_metric_mlflow_does_not_report_for_the_contracts_task_is_refused(tmp_path: Path, kind: str) -> None:
    """roc_auc needs probabilities, which MLflow takes only from a raw model's predict_proba: the gated model is
    the served pyfunc, which has none, so a gate on it would block every candidate."""
    path = tmp_path / "gate.toml"
    path.write_text("[metrics.roc_auc]\ngreater_is_better = true\nthreshold = 0.9\n")
    with pytest.raises(GateConfigError, match=rf"not reported by mlflow\.models\.evaluate for a {kind} task"):
        GateConfig.load(path, kind=kind)
    path.write_text("[metrics.f1_score]\ngreater_is_better = true\nthreshold = 0.9\n")
    assert set(GateConfig.load(path, kind=kind).rules) == {"f1_score"}
