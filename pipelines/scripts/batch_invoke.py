"""Optionally (re)deploy a batch deployment, then start a batch scoring job and publish its name.

The scoring job is waited for by `aml_job_wait` in re-queueable agent jobs, like any training job.
Output variable: `amlJobName` (or `--output-variable`).

    python -m pipelines.scripts.batch_invoke --subscription-id ... --resource-group ... --workspace ... \
        --endpoint <name> [--deployment <name> [--deployment-spec batch-deployment.yml \
        [--set resources.instance_count=4 ...] [--overrides '{"environment": "azureml:env:1"}']]] \
        --input name=azureml://datastores/datalake_curated/paths/scoring/ [--input-type uri_folder]

`--set PATH=VALUE` (repeatable) and `--overrides` (a JSON object of PATH to VALUE, what batch-deploy.yml passes)
change the deployment spec before it is applied, like `az ml batch-deployment create --set`: the CD sets
`resources.instance_count` from the stack's cluster size this way.
"""

import argparse
import logging
from collections.abc import Sequence

from pipelines.scripts import ado, aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import BatchEndpointsApi
from pipelines.scripts.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

INPUT_TYPES = ("uri_folder", "uri_file")
# Batch endpoints read from Azure ML data URIs; local paths would be uploaded from the agent, which is slow.
_INPUT_PREFIXES = ("azureml:", "https://", "abfss://", "wasbs://")


def _input(value: str) -> tuple[str, str]:
    name, sep, uri = value.partition("=")
    if not sep or not name:
        msg = f"{value!r} must look like name=uri"
        raise argparse.ArgumentTypeError(msg)
    cli.asset_name(name)
    if not uri.startswith(_INPUT_PREFIXES):
        msg = f"{value!r}: uri must start with one of {list(_INPUT_PREFIXES)}"
        raise argparse.ArgumentTypeError(msg)
    return name, uri


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--endpoint", required=True, type=cli.endpoint_name)
    parser.add_argument(
        "--deployment", type=cli.endpoint_name, default=None, help="default: endpoint default"
    )
    parser.add_argument(
        "--deployment-spec", type=cli.existing_file, default=None, help="batch deployment YAML"
    )
    parser.add_argument("--model", type=cli.model_uri, default="", help="with --deployment-spec: model URI")
    parser.add_argument(
        "--set", dest="settings", type=cli.job_override, action="append", default=[], help="PATH=VALUE"
    )
    parser.add_argument(
        "--overrides", type=cli.job_overrides, default={}, help="JSON object of PATH to VALUE"
    )
    parser.add_argument("--input", type=_input, action="append", required=True, help="name=uri, repeatable")
    parser.add_argument("--input-type", choices=INPUT_TYPES, default="uri_folder")
    parser.add_argument("--output-variable", default="amlJobName")
    return parser


def main(argv: Sequence[str] | None = None, api: BatchEndpointsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.deployment_spec is not None and args.deployment is None:
        msg = f"--deployment-spec {args.deployment_spec} needs --deployment: name the deployment it creates"
        raise InvalidArgumentError(msg)
    overrides = {**args.overrides, **dict(args.settings)}
    if overrides and args.deployment_spec is None:
        msg = f"--set/--overrides {sorted(overrides)} change a deployment spec: pass --deployment-spec too"
        raise InvalidArgumentError(msg)
    names = [name for name, _ in args.input]
    if len(set(names)) != len(names):
        msg = f"--input names must be unique, got {names}"
        raise InvalidArgumentError(msg)
    client = api or aml_client.from_args(args)
    if args.deployment_spec is not None:
        for path, value in sorted(overrides.items()):
            logger.info("Override %s=%s", path, value)
        client.create_or_update_batch_deployment(
            args.endpoint, args.deployment, args.deployment_spec, args.model or None, overrides
        )
        logger.info("Deployed %s to batch endpoint %s as its default", args.deployment, args.endpoint)
    job = client.invoke_batch(args.endpoint, args.deployment, dict(args.input), args.input_type)
    logger.info("Batch scoring job %s started on %s", job, args.endpoint)
    ado.set_variable(args.output_variable, job, is_output=True)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
