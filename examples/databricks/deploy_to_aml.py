"""Deploy a registered version of the Spark-trained model on an Azure ML managed online endpoint, blue/green.

    python examples/databricks/deploy_to_aml.py --subscription-id <id> --resource-group <rg> \
        --workspace <workspace> --endpoint diabetes-spark-ep --version 1 [--traffic-steps 10,50,100] [--step-wait-seconds 60]

Writes a scoring request from the bundled sample, then runs the platform's own blue/green release
(pipelines/scripts/blue_green.py): deploy the idle colour with aml/deployment.yml and the model
`azureml:<model>:<version>`, smoke-test it, shift traffic in steps, roll back on any failure. Exits with
the release's code (0 promoted, 1 rolled back, 4 rollback failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sklearn.datasets import load_diabetes

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(
        0, str(REPOSITORY)
    )  # run as a script from anywhere: the shared CLI is a repository package

from pipelines.scripts import blue_green, cli  # noqa: E402 (needs the repository on the path)
from pipelines.scripts.aml_boundary import OnlineEndpointsApi  # noqa: E402

DEPLOYMENT_SPEC = Path(__file__).with_name("aml") / "deployment.yml"
MODEL_NAME = "diabetes-spark"
FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def sample_request(rows: int = 3) -> dict[str, object]:
    """A managed-endpoint request (`input_data`, split orientation) of the first sample rows."""
    frame = load_diabetes(as_frame=True, scaled=False).frame[list(FEATURES)].head(rows)
    return {"input_data": json.loads(frame.to_json(orient="split"))}


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--endpoint", required=True, type=cli.endpoint_name, help="existing online endpoint")
    parser.add_argument("--version", required=True, help="registered version of the model to deploy")
    parser.add_argument("--model-name", default=MODEL_NAME, type=cli.asset_name, help="registered model name")
    parser.add_argument("--traffic-steps", default="10,50,100", help="new colour's share at each step")
    parser.add_argument("--step-wait-seconds", default="60", help="health-check dwell at each traffic step")
    return parser


def main(argv: Sequence[str] | None = None, api: OnlineEndpointsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        request = Path(folder, "request.json")
        request.write_text(json.dumps(sample_request()))
        return blue_green.main(
            [
                *("--subscription-id", args.subscription_id),
                *("--resource-group", args.resource_group),
                *("--workspace", args.workspace),
                *("--endpoint", args.endpoint),
                *("--deployment-spec", str(DEPLOYMENT_SPEC)),
                *("--request-file", str(request)),
                *("--model", f"azureml:{args.model_name}:{args.version}"),
                *("--traffic-steps", args.traffic_steps),
                *("--step-wait-seconds", args.step_wait_seconds),
            ],
            api=api,
        )


if __name__ == "__main__":
    raise SystemExit(main())
