"""The request guard's checks on their own, and why they exist: what MLflow does with the same bodies."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.pyfunc import scoring_server
from sklearn.tree import DecisionTreeClassifier

from {{ cookiecutter.package_name }}.data import NUMERIC_FEATURE_NAMES, features_and_target
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.request_guard import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    BadRequestError,
    check_body,
    json_depth,
)
from {{ cookiecutter.package_name }}.tracking import SKOPS_TRUSTED_TYPES, model_requirements

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INT = b'{"dataframe_split": {"columns": ["a"], "data": [[' + b"9" * 5000 + b"]]}}"
LATIN_1 = '{"dataframe_split": {"columns": ["a"], "data": [["\xe9"]]}}'.encode("latin-1")


@pytest.mark.parametrize(
    ("document", "depth"), [(1, 0), ([], 1), ({"a": [[1]]}, 3), ({"dataframe_split": {"data": [[1, 2]]}}, 4)]
)
def test_json_depth_counts_arrays_and_objects(document: object, depth: int) -> None:
    assert json_depth(document) == depth


def test_every_mlflow_table_format_fits_under_the_depth_limit() -> None:
    rows = pd.DataFrame({"a": [1.0], "b": [2.0]})
    for orient, key in (("split", "dataframe_split"), ("records", "dataframe_records"), ("list", "inputs")):
        assert json_depth({key: rows.to_dict(orient=orient)}) <= MAX_JSON_DEPTH


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (DEEP, "application/json", 400, "nested deeper"),
        (HUGE_INT, "application/json", 400, "not valid JSON"),
        (LATIN_1, "application/json; charset=utf-8", 400, "not UTF-8 (byte 0xe9"),
        (b"a\n\xe9\n", "text/csv", 400, "not UTF-8"),
        (b" " * (MAX_BODY_BYTES + 1), "application/json", 413, f"limit is {MAX_BODY_BYTES}"),
    ],
)
def test_bad_bodies_are_refused_with_the_reason(
    body: bytes, content_type: str, status: int, words: str
) -> None:
    with pytest.raises(BadRequestError, match=words.replace("(", r"\(")) as caught:
        check_body(body, content_type)
    assert caught.value.status == status


def test_good_and_binary_bodies_pass_untouched() -> None:
    check_body(
        json.dumps({"dataframe_split": {"columns": ["a"], "data": [[1.5]]}}).encode(), "application/json"
    )
    check_body(b"PAR1\xff\x00", "application/x-parquet")  # binary: only the size limit applies


@pytest.mark.parametrize("body", [DEEP, HUGE_INT, LATIN_1], ids=["deep", "huge-int", "latin-1"])
def test_mlflow_alone_fails_these_bodies_with_an_unhandled_error(
    good_candidate: Candidate, body: bytes
) -> None:
    """Why the guard exists: MLflow's scoring server turns only MlflowException into 4xx; these raise
    something else (RecursionError, ValueError, UnicodeDecodeError), which its app answers with 500."""
    model = mlflow.pyfunc.load_model(good_candidate.model_uri)
    # The point is the type: anything but MlflowException.
    with pytest.raises(Exception) as caught:
        scoring_server.invocations(body, "application/json", model, None)
    assert not isinstance(caught.value, MlflowException)


def test_an_input_signature_would_let_an_extra_column_through(
    tiny_prepared: PreparedData, tmp_path: Path
) -> None:
    """Why the logged model has no input signature: MLflow enforces it before predict and drops columns
    the signature does not name, so the schema could not refuse them."""
    features, target = features_and_target(pd.read_parquet(tiny_prepared.train))
    features = features[NUMERIC_FEATURE_NAMES]
    # Any scikit-learn model shows it; a small tree on the numbers is the quickest to fit.
    estimator = DecisionTreeClassifier(max_depth=2).fit(features, target.astype(str))
    path = tmp_path / "with-signature"
    signature = infer_signature(features, estimator.predict(features))
    mlflow.sklearn.save_model(
        estimator,
        path,
        signature=signature,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        pip_requirements=model_requirements(),  # declared: inferring them takes seconds
    )

    extra = features.head(2).assign(renamed_feature=1.0)
    assert len(mlflow.pyfunc.load_model(str(path)).predict(extra)) == 2
