"""Request bodies for the two ways this model is served, and conversion between them.

MLflow's scoring server (`mlflow models serve`, local and in CI) takes one of `dataframe_split`,
`dataframe_records`, `instances` or `inputs`. An Azure ML managed online endpoint serving an MLflow
model takes `{"input_data": {"columns": [...], "index": [...], "data": [[...]]}}`. The two are not
interchangeable, so tests and smoke checks build both from the same rows.

    python -m {{ cookiecutter.package_name }}.payload --format input_data --rows 3 > request.json
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, SAMPLE_SOURCE, load_source, read_files
from {{ cookiecutter.package_name }}.errors import PayloadFormatError

ScoringFormat = Literal["dataframe_split", "dataframe_records", "instances", "inputs"]
SCORING_FORMATS: tuple[str, ...] = get_args(ScoringFormat)
AML_KEY = "input_data"

# pandas orientation of each format's value.
_ORIENT: dict[str, Literal["split", "records", "list"]] = {
    "dataframe_split": "split",
    "dataframe_records": "records",
    "instances": "records",
    "inputs": "list",
}


def to_scoring_server(frame: pd.DataFrame, fmt: ScoringFormat = "dataframe_split") -> dict[str, Any]:
    """A body for MLflow's scoring server (`POST /invocations`)."""
    if fmt not in _ORIENT:
        raise PayloadFormatError(
            f"format {fmt!r} is not an MLflow scoring format: expected one of {SCORING_FORMATS}"
        )
    return {fmt: frame.to_dict(orient=_ORIENT[fmt])}


def from_scoring_server(payload: Mapping[str, Any]) -> pd.DataFrame:
    """The rows of an MLflow scoring-server body, whichever of the four formats it uses."""
    present = [key for key in SCORING_FORMATS if key in payload]
    if len(present) != 1:
        raise PayloadFormatError(
            f"scoring-server body has keys {sorted(payload)}: expected exactly one of {list(SCORING_FORMATS)}"
            + (
                f" (an Azure ML body uses {AML_KEY!r}: convert it with aml_to_scoring_server)"
                if AML_KEY in payload
                else ""
            )
        )
    key = present[0]
    value = payload[key]
    if _ORIENT[key] == "split":
        return _from_split(value, key)
    if _ORIENT[key] == "list":
        return pd.DataFrame(value)
    return pd.DataFrame.from_records(value)


def to_aml_online(frame: pd.DataFrame) -> dict[str, Any]:
    """A body for an Azure ML managed online endpoint serving an MLflow model."""
    return {AML_KEY: frame.to_dict(orient="split")}


def from_aml_online(payload: Mapping[str, Any]) -> pd.DataFrame:
    if AML_KEY not in payload:
        raise PayloadFormatError(
            f"Azure ML body has keys {sorted(payload)}: expected {AML_KEY!r}"
            + (" (this is an MLflow scoring-server body)" if set(payload) & set(SCORING_FORMATS) else "")
        )
    return _from_split(payload[AML_KEY], AML_KEY)


def aml_to_scoring_server(
    payload: Mapping[str, Any], fmt: ScoringFormat = "dataframe_split"
) -> dict[str, Any]:
    return to_scoring_server(from_aml_online(payload), fmt)


def scoring_server_to_aml(payload: Mapping[str, Any]) -> dict[str, Any]:
    return to_aml_online(from_scoring_server(payload))


def _from_split(value: object, key: str) -> pd.DataFrame:
    if not isinstance(value, Mapping) or not {"columns", "data"} <= value.keys():
        raise PayloadFormatError(
            f"{key!r} must be an object with 'columns' and 'data' (and optionally 'index')"
        )
    return pd.DataFrame(value["data"], columns=value["columns"], index=value.get("index"))


def sample_request(rows: int, fmt: str, data: Path | None = None) -> dict[str, Any]:
    """The first `rows` feature rows of `data` (default: the bundled sample) as a request body."""
    frame = load_source(SAMPLE_SOURCE) if data is None else read_files(data)
    features = frame[FEATURE_NAMES].head(rows)
    return to_aml_online(features) if fmt == AML_KEY else to_scoring_server(features, fmt)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--format", default="dataframe_split", choices=[*SCORING_FORMATS, AML_KEY])
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="a .csv/.parquet file (default: the sample)")
    args = parser.parse_args(argv)

    def step() -> int:
        print(json.dumps(sample_request(args.rows, args.format, args.data)))
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
