"""The whole local loop in one command: prep -> train -> evaluate -> register, in one MLflow run.

    python -m {{ cookiecutter.package_name }}.pipeline [--source sample | --prepared DIR] [{{ "--epochs 12" if cookiecutter.framework == "pytorch" else "--n-estimators 200" }} ...]

This is the MLproject's `main` entry point (`mlflow run .`). On Azure ML the same four steps run as
separate jobs of aml/pipeline.yml. Exits 1, registering nothing, when the gate rejects the candidate; a new
champion's training split goes to <workdir>/reference as the model monitor's MLTable (reference.py).
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.parquet as pq

from {{ cookiecutter.package_name }} import cli, reference
from {{ cookiecutter.package_name }}.data import SAMPLE_SOURCE
from {{ cookiecutter.package_name }}.evaluate import judge, report
from {{ cookiecutter.package_name }}.gate import GateConfig
from {{ cookiecutter.package_name }}.prep import TEST_FILE, TRAIN_FILE, PreparedData, prepare
from {{ cookiecutter.package_name }}.register import register
from {{ cookiecutter.package_name }}.settings import CHAMPION_ALIAS, MODEL_NAME, WORKDIR
{%- if cookiecutter.framework == "pytorch" %}
from {{ cookiecutter.package_name }}.torch_train import add_param_arguments, params_from, train
from {{ cookiecutter.package_name }}.tracking import step_run
{%- else %}
from {{ cookiecutter.package_name }}.tracking import step_run
from {{ cookiecutter.package_name }}.train import add_param_arguments, params_from, train
{%- endif %}


def prepared_split(folder: Path) -> PreparedData:
    """A split another prep wrote (spark_prep on Databricks) into `folder`, as prep.prepare describes its own."""
    train, test = folder / TRAIN_FILE, folder / TEST_FILE
    return PreparedData(train, test, pq.read_metadata(train).num_rows + pq.read_metadata(test).num_rows)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--source", default=SAMPLE_SOURCE, help="'sample', a .csv/.parquet file or a folder")
    parser.add_argument(
        "--prepared",
        type=Path,
        default=None,
        help="a folder already holding the validated split (spark_prep's): skips prep and --source",
    )
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="folder for the steps' hand-off files")
    parser.add_argument("--gate", type=Path, default=None, help="gate file (default: the packaged gate.toml)")
    parser.add_argument("--model-name", default=MODEL_NAME, help="registered model name")
    add_param_arguments(parser)
    args = parser.parse_args(argv)

    def steps() -> int:
        gate = GateConfig.load(args.gate)  # read first: a broken gate file should fail before training
        with step_run("pipeline") as run:
            prepared = (
                prepared_split(args.prepared)
                if args.prepared
                else prepare(args.source, args.workdir / "prepared")
            )
            candidate = train(prepared.train.parent, args.workdir / "candidate", params_from(args))
            verdict = judge(candidate, pd.read_parquet(prepared.test), gate, args.model_name)
            verdict.write(args.workdir / "verdict")
            print(report(verdict, gate))
            if not verdict.passed:
                mlflow.set_tag("outcome", "rejected")
                return cli.EXIT_FAILED
            version = register(verdict, args.model_name)
            reference.write_mltable(prepared.train.parent, args.workdir / "reference")
            mlflow.set_tag("outcome", f"registered v{version.version}")
            print(
                f"registered {args.model_name} v{version.version} as @{CHAMPION_ALIAS}, run {run.info.run_id}"
            )
        return cli.EXIT_OK

    return cli.run(steps)


if __name__ == "__main__":
    raise SystemExit(main())
