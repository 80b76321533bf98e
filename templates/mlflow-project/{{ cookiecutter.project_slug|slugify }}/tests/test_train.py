"""A fast training run on tiny data logs everything a reviewer and a deployment need."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data import CONTRACT, FEATURE_NAMES, NUMERIC_FEATURE_NAMES, features_and_target
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.score_batch import feature_drift, score
from {{ cookiecutter.package_name }}.tracking import log_validated_model, step_run
from {{ cookiecutter.package_name }}.train import Model, TrainParams, build_model, feature_importances, train


def test_training_logs_params_metrics_plots_and_a_servable_model(
    tiny_prepared: PreparedData, fast_params: TrainParams, tmp_path: Path
) -> None:
    candidate = train(tiny_prepared.train.parent, tmp_path, fast_params)

    assert Candidate.read(tmp_path) == candidate
    run = MlflowClient().get_run(candidate.run_id)
    assert run.data.params["n_estimators"] == str(fast_params.n_estimators)
    assert {name for name in run.data.metrics if name.startswith("test_")}
    plots = [item.path for item in MlflowClient().list_artifacts(candidate.run_id, "plots")]
    assert "plots/feature_importance.png" in plots
    model_info = mlflow.models.get_model_info(candidate.model_uri)
    # No input signature: MLflow would drop unknown columns before the schema could refuse them.
    assert model_info.signature.inputs is None and model_info.signature.outputs is not None
    assert model_info.saved_input_example_info is not None
    test_rows = pd.read_parquet(tiny_prepared.test)
    predictions = mlflow.pyfunc.load_model(candidate.model_uri).predict(test_rows[FEATURE_NAMES])
    assert len(predictions) == len(test_rows)


def test_batch_scoring_keeps_features_for_drift_checks(
    tiny_prepared: PreparedData, fast_params: TrainParams, tmp_path: Path
) -> None:
    candidate = train(tiny_prepared.train.parent, tmp_path, fast_params)
    rows = pd.read_parquet(tiny_prepared.test)[FEATURE_NAMES]

    scored = score(candidate.model_uri, rows)

    assert list(scored.columns) == [*FEATURE_NAMES, "prediction", "model_uri", "scored_at"]
    assert feature_drift(rows, scored).max() < 0.01
    first = NUMERIC_FEATURE_NAMES[0]
    shifted = scored.assign(**{first: scored[first] * 3 + 100})
    assert feature_drift(rows, shifted).idxmax() == first


def test_the_azure_ml_fallback_logs_a_model_that_registers(
    tiny_prepared: PreparedData, fast_params: TrainParams, model_name: str
) -> None:
    """The path taken when tracking to Azure ML, where MLflow 3's logged-model API has answered 404."""
    features, target = features_and_target(pd.read_parquet(tiny_prepared.train))
    model = build_model(fast_params).fit(features, target)
    with step_run("fallback"):
        model_uri = log_validated_model(model, features.head(5), as_run_artifacts=True)

    assert model_uri.startswith("runs:/") and model_uri.endswith("/model")
    version = mlflow.register_model(model_uri, model_name)
    loaded = mlflow.pyfunc.load_model(f"models:/{model_name}/{version.version}")
    assert len(loaded.predict(features.head(3))) == 3
    with pytest.raises(MlflowException, match="column 'extra': not in the schema"):
        loaded.predict(features.head(3).assign(extra=1.0))


def test_batch_scoring_loads_a_registered_version_once_and_follows_a_moved_alias(
    tiny_prepared: PreparedData, fast_params: TrainParams, model_name: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Scoring several batches in one process downloads the model once; @champion is resolved each time."""
    client = MlflowClient()
    versions = []
    for index in range(2):
        candidate = train(tiny_prepared.train.parent, tmp_path / str(index), fast_params)
        versions.append(mlflow.register_model(candidate.model_uri, model_name).version)
    rows = pd.read_parquet(tiny_prepared.test)[FEATURE_NAMES]
    loads: list[str] = []
    real_load = mlflow.pyfunc.load_model
    monkeypatch.setattr(mlflow.pyfunc, "load_model", lambda uri: loads.append(uri) or real_load(uri))
    champion = f"models:/{model_name}@champion"

    client.set_registered_model_alias(model_name, "champion", versions[0])
    first, again = score(champion, rows), score(champion, rows)
    client.set_registered_model_alias(model_name, "champion", versions[1])
    moved = score(champion, rows)

    assert loads == [f"models:/{model_name}/{versions[0]}", f"models:/{model_name}/{versions[1]}"]
    assert first["model_uri"].eq(champion).all() and again["prediction"].equals(first["prediction"])
    assert len(moved) == len(rows)


def test_the_logged_model_and_its_inner_estimator_declare_their_requirements(
    good_candidate: Candidate,
) -> None:
    """Declared, not inferred: inference would re-import the model in a subprocess on every training run."""
    local = Path(mlflow.artifacts.download_artifacts(good_candidate.model_uri))
    outer, inner = (
        set((folder / "requirements.txt").read_text(encoding="utf-8").split())
        for folder in (local, local / "artifacts" / "estimator")
    )
    assert inner == outer and f"pyarrow=={version('pyarrow')}" in inner, (inner, outer)


def test_a_contract_of_numbers_trains_the_estimator_itself(fast_params: TrainParams) -> None:
    """Without categories (the samples) the model is the gradient-boosting estimator, as before categories."""
    document = CONTRACT.model_dump()
    numbers = [feature for feature in document["features"] if feature["type"] != "category"]
    numeric_contract = DataContract.model_validate({**document, "features": numbers})
    assert type(build_model(fast_params, numeric_contract)) is Model


def test_category_features_are_one_hot_encoded_with_the_contracts_categories(
    tiny_prepared: PreparedData, fast_params: TrainParams, colour_contract: DataContract
) -> None:
    features, target = features_and_target(pd.read_parquet(tiny_prepared.train))
    # Training never sees `green`, nor a missing colour.
    features = features.assign(colour=["blue", "red"] * (len(features) // 2) + ["red"] * (len(features) % 2))

    model = build_model(fast_params, colour_contract).fit(features, target)

    encoder = model.named_steps["encode"].named_transformers_["category"]
    assert [list(values) for values in encoder.categories_][-1] == ["blue", "green", "red"]
    assert encoder.handle_unknown == "ignore"
    # An allowed value training never held has its own column, and a missing value encodes as no category.
    encoded = list(model[:-1].get_feature_names_out())
    colour = [encoded.index(f"colour_{value}") for value in ("blue", "green", "red")]
    rows = features.head(2).assign(colour=["green", None])
    assert model[:-1].transform(rows)[:, colour].tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    assert len(model.predict(rows)) == 2
    importances = feature_importances(model)
    assert list(importances.index) == encoded
    assert {"colour_blue", "colour_green", "colour_red", *NUMERIC_FEATURE_NAMES} <= set(importances.index)


def test_feature_drift_measures_a_category_by_the_shares_of_its_values(
    tiny_prepared: PreparedData, colour_contract: DataContract
) -> None:
    rows = pd.read_parquet(tiny_prepared.train)[FEATURE_NAMES].head(60)
    reference = rows.assign(colour=["blue", "red", None] * 20)
    reordered = reference.iloc[::-1]
    only_blue = reference.assign(colour="blue")

    same = feature_drift(reference, reordered, features=colour_contract.features)
    moved = feature_drift(reference, only_blue, features=colour_contract.features)

    assert same["colour"] < 1e-9
    assert moved.idxmax() == "colour" and moved["colour"] > 1.0
