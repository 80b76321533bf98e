"""Request bodies: both serving formats, conversion between them, and MLflow's own parser agrees."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow.pyfunc.scoring_server import infer_and_parse_data

from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, load_sample
from {{ cookiecutter.package_name }}.errors import PayloadFormatError
from {{ cookiecutter.package_name }}.payload import (
    SCORING_FORMATS,
    aml_to_scoring_server,
    from_aml_online,
    from_scoring_server,
    sample_request,
    scoring_server_to_aml,
    to_aml_online,
    to_scoring_server,
)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return load_sample()[FEATURE_NAMES].head(4)


@pytest.mark.parametrize("fmt", SCORING_FORMATS)
def test_every_scoring_server_format_round_trips_through_json(rows: pd.DataFrame, fmt: str) -> None:
    body = json.loads(json.dumps(to_scoring_server(rows, fmt)))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(
        from_scoring_server(body).reset_index(drop=True), rows.reset_index(drop=True)
    )


@pytest.mark.parametrize("fmt", SCORING_FORMATS)
def test_mlflow_scoring_server_parses_our_bodies_back_to_the_same_rows(rows: pd.DataFrame, fmt: str) -> None:
    parsed = pd.DataFrame(infer_and_parse_data(json.loads(json.dumps(to_scoring_server(rows, fmt)))))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(parsed[FEATURE_NAMES].reset_index(drop=True), rows.reset_index(drop=True))


def test_the_azure_ml_body_is_input_data_in_split_orientation(rows: pd.DataFrame) -> None:
    body = json.loads(json.dumps(to_aml_online(rows)))
    assert set(body) == {"input_data"}
    assert body["input_data"]["columns"] == FEATURE_NAMES
    assert len(body["input_data"]["data"]) == len(rows)
    pd.testing.assert_frame_equal(from_aml_online(body), rows)


@pytest.mark.parametrize("fmt", SCORING_FORMATS)
def test_azure_ml_and_scoring_server_bodies_convert_both_ways(rows: pd.DataFrame, fmt: str) -> None:
    aml_body = to_aml_online(rows)
    scoring_body = aml_to_scoring_server(aml_body, fmt)  # type: ignore[arg-type]
    assert set(scoring_body) == {fmt}
    back = from_aml_online(scoring_server_to_aml(scoring_body))
    pd.testing.assert_frame_equal(back.reset_index(drop=True), rows.reset_index(drop=True))


def test_a_body_in_the_other_format_says_which_format_it_is(rows: pd.DataFrame) -> None:
    with pytest.raises(PayloadFormatError, match="an Azure ML body uses 'input_data'"):
        from_scoring_server(to_aml_online(rows))
    with pytest.raises(PayloadFormatError, match="this is an MLflow scoring-server body"):
        from_aml_online(to_scoring_server(rows))


def test_the_sample_request_has_the_features_and_nothing_else() -> None:
    body = sample_request(rows=2, fmt="input_data")
    assert body["input_data"]["columns"] == FEATURE_NAMES
    assert len(body["input_data"]["data"]) == 2
