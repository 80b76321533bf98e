"""Build the demo's scoring inputs from the project's held-out split, with the project's own code.

    python batches.py --package diabetes_progression --test artifacts/prepared/test.parquet \
        --output ../batches [--shift 0.15] [--rows 3]

Writes batch.parquet (held-out rows: an unshifted batch), batch_shifted.parquet (the same rows with every
continuous feature scaled by 1 + shift, categories left as they are, clipped to the schema's bounds so it still validates), and two
scoring-server bodies built with the project's payload module: request.json and request_malformed.json
(the first feature column removed). Prints a JSON line describing what it wrote.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

import pandas as pd


def shifted(frame: pd.DataFrame, columns: Any, shift: float) -> pd.DataFrame:
    """Scale each continuous column (no `allowed` set) by 1 + shift, then clip to its schema bounds."""
    result = frame.copy()
    for column in columns:
        if column.allowed is not None or column.type == "category" or column.name not in result:
            continue  # a coded column (e.g. sex in {1, 2}) or a category has no meaningful scaling
        values = result[column.name] * (1 + shift)
        result[column.name] = values.clip(lower=column.minimum, upper=column.maximum)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--package", required=True, help="the generated project's package name")
    parser.add_argument("--test", type=Path, required=True, help="prep's held-out split (test.parquet)")
    parser.add_argument("--output", type=Path, required=True, help="folder for the batches and bodies")
    parser.add_argument("--shift", type=float, default=0.15)
    parser.add_argument("--rows", type=int, default=3, help="rows in the smoke-test request")
    args = parser.parse_args(argv)

    data = importlib.import_module(f"{args.package}.data")
    payload = importlib.import_module(f"{args.package}.payload")
    features = pd.read_parquet(args.test)[data.FEATURE_NAMES]
    args.output.mkdir(parents=True, exist_ok=True)
    files = {
        "batch": args.output / "batch.parquet",
        "batch_shifted": args.output / "batch_shifted.parquet",
        "request": args.output / "request.json",
        "request_malformed": args.output / "request_malformed.json",
    }
    features.to_parquet(files["batch"], index=False)
    shifted(features, data.FEATURES, args.shift).to_parquet(files["batch_shifted"], index=False)
    request = payload.to_scoring_server(features.head(args.rows), "dataframe_split")
    files["request"].write_text(json.dumps(request), encoding="utf-8")
    # A body a client with an outdated feature list would send: one required column missing.
    dropped = data.FEATURE_NAMES[0]
    malformed = payload.to_scoring_server(features.head(args.rows).drop(columns=[dropped]), "dataframe_split")
    files["request_malformed"].write_text(json.dumps(malformed), encoding="utf-8")
    print(
        json.dumps(
            {"rows": len(features), "dropped_column": dropped, **{k: str(v) for k, v in files.items()}}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
