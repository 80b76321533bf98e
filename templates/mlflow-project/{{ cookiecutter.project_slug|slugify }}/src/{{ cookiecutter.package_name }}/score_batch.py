"""Batch scoring with the champion, writing rows that drift monitoring can compare with training data.

    python -m {{ cookiecutter.package_name }}.score_batch --input new_rows.parquet --output scored.parquet

Each output row keeps its features next to the prediction, the model URI and the scoring time, so
`feature_drift(training_rows, scored_rows)` can run on the output as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.contract import Feature
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, FEATURES, read_files
from {{ cookiecutter.package_name }}.errors import InputRefusedError
from {{ cookiecutter.package_name }}.settings import CHAMPION_ALIAS, MODEL_NAME

CHAMPION_URI = f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}"


def score(model_uri: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Predict with the model, which validates `frame` first; return features + prediction + provenance.

    The model's own validation (validated_model) refuses rows exactly as the online endpoint does: the
    same rules and the same message, raised here as InputRefusedError.
    """
    return score_with(load(model_uri), model_uri, frame)


def score_with(model: mlflow.pyfunc.PyFuncModel, model_uri: str, frame: pd.DataFrame) -> pd.DataFrame:
    """`score` with a model already loaded (batch_driver loads it once per process)."""
    try:
        predictions = model.predict(frame)
    except MlflowException as err:
        if err.error_code != ErrorCode.Name(INVALID_PARAMETER_VALUE):
            raise
        raise InputRefusedError(f"{model_uri} refused the rows: {err.message}") from err
    return frame[FEATURE_NAMES].assign(
        prediction=np.asarray(predictions),
        model_uri=model_uri,
        scored_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def load(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The model at `model_uri`; a registry URI is loaded once per process and tracking server.

    `models:/<name>@<alias>` is resolved to the version it points at now, so a moved alias loads the new
    champion, while a registered version or logged model (`models:/<name>/<version>`, `models:/<id>`)
    never changes: scoring several batches in one process downloads and loads it once.
    """
    if not model_uri.startswith("models:/"):
        return mlflow.pyfunc.load_model(model_uri)
    name, at, alias = model_uri.removeprefix("models:/").partition("@")
    if at:
        version = MlflowClient().get_model_version_by_alias(name, alias).version
        model_uri = f"models:/{name}/{version}"
    return _load_registered(model_uri, mlflow.get_tracking_uri(), mlflow.get_registry_uri())


@cache
def _load_registered(model_uri: str, tracking_uri: str, registry_uri: str) -> mlflow.pyfunc.PyFuncModel:
    del tracking_uri, registry_uri  # part of the cache key only: the same URI on another server differs
    return mlflow.pyfunc.load_model(model_uri)


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10, features: tuple[Feature, ...] = FEATURES
) -> pd.Series:
    """Population stability index per feature (0: same distribution; above 0.2 is usually called drift).

    Numeric bins are the reference's quantiles, so each holds ~1/bins of the reference rows; a `category`
    feature's bins are its values (missing is a value too), so PSI weighs how each value's share moved.
    """
    psi: dict[str, float] = {}
    for feature in features:
        name = feature.name
        if feature.is_category:
            # As object: a parquet file may hold the column as pandas' category dtype on one side only.
            counts = pd.concat(
                [frame[name].astype(object).value_counts(dropna=False) for frame in (reference, current)],
                axis=1,
            ).fillna(0)
            expected = counts.iloc[:, 0].to_numpy(dtype=float) / len(reference)
            actual = counts.iloc[:, 1].to_numpy(dtype=float) / len(current)
        else:
            edges = np.unique(np.quantile(reference[name], np.linspace(0, 1, bins + 1)))
            edges[0], edges[-1] = -np.inf, np.inf
            expected = np.histogram(reference[name], edges)[0] / len(reference)
            actual = np.histogram(current[name], edges)[0] / len(current)
        expected, actual = np.clip(expected, 1e-6, None), np.clip(actual, 1e-6, None)
        psi[name] = float(np.sum((actual - expected) * np.log(actual / expected)))
    return pd.Series(psi, name="psi").sort_values(ascending=False)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--model-uri", default=CHAMPION_URI)
    parser.add_argument("--input", type=Path, required=True, help="a .csv/.parquet file or a folder of them")
    parser.add_argument("--output", type=Path, required=True, help="the .parquet file to write")
    args = parser.parse_args(argv)

    def step() -> int:
        try:
            scored = score(args.model_uri, read_files(args.input))
        except InputRefusedError as err:
            raise InputRefusedError(f"rows of {str(args.input)!r}: {err}") from err
        args.output.parent.mkdir(parents=True, exist_ok=True)
        scored.to_parquet(args.output, index=False)
        print(f"scored {len(scored)} rows with {args.model_uri} into {args.output}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
