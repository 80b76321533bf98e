"""Submit an Azure ML CLI v2 job YAML and publish its name as the output variable `amlJobName`.

The wait happens elsewhere (`aml_job_wait`), in agent jobs that can be re-queued, so this step is short.

    python -m pipelines.scripts.aml_job_submit --subscription-id ... --resource-group ... --workspace ... \
        --job-file aml/pipeline.yml [--experiment-name train] [--output-variable amlJobName] \
        [--set inputs.learning_rate=0.1 ...] [--overrides '{"tags.reason": "drift"}']

`--set PATH=VALUE` (repeatable) and `--overrides` (a JSON object of PATH to VALUE, what the aml-job.yml template
passes) change the YAML before it is submitted, like `az ml job create --set`: dotted paths into the job YAML.
`--environment azureml:<name>:<version>` (what `aml_assets` registered from the lock) replaces every reference
to environment <name> in the job, its pipeline steps and their sweep trials, so the job runs on exactly that
version, not `@latest`.
"""

import argparse
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from pipelines.scripts import ado, aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import JobsApi
from pipelines.scripts.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

_VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENVIRONMENT_URI_RE = re.compile(
    r"^azureml:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*):(?P<version>[A-Za-z0-9._-]+)$"
)


def _environment_uri(value: str) -> str:
    if not _ENVIRONMENT_URI_RE.fullmatch(value):
        msg = f"{value!r} must look like azureml:<environment>:<version> (aml_assets' output environmentUri)"
        raise argparse.ArgumentTypeError(msg)
    return value


def _references(environment: object, name: str) -> bool:
    # azureml:<name>@latest, azureml:<name>:<version> or azureml:<name>@<label>
    return (
        isinstance(environment, str)
        and re.fullmatch(rf"azureml:{re.escape(name)}([:@].+)?", environment) is not None
    )


def environment_overrides(job: Mapping[str, Any], uri: str) -> dict[str, str]:
    """Dotted paths of every `environment:` in `job` (and its `jobs:` steps) that names `uri`'s environment.

    >>> environment_overrides({"jobs": {"a": {"environment": "azureml:env@latest"}, "b": {}}}, "azureml:env:1f")
    {'jobs.a.environment': 'azureml:env:1f'}
    >>> environment_overrides({"jobs": {"s": {"type": "sweep", "trial": {"environment": "azureml:env@latest"}}}}, "azureml:env:1f")
    {'jobs.s.trial.environment': 'azureml:env:1f'}
    """
    name = uri.split(":")[1]
    paths = {"environment": job.get("environment")}
    for step, spec in (job.get("jobs") or {}).items():
        paths[f"jobs.{step}.environment"] = (spec or {}).get("environment")
        # A sweep step runs its trial's environment.
        if isinstance(trial := (spec or {}).get("trial"), Mapping):
            paths[f"jobs.{step}.trial.environment"] = trial.get("environment")
    return {path: uri for path, value in paths.items() if _references(value, name)}


def _job_document(path: Path) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(cli.read_text(path, "--job-file"))
    except yaml.YAMLError as err:
        msg = f"--job-file {path}: not YAML ({err})"
        raise InvalidArgumentError(msg) from err
    return document if isinstance(document, dict) else {}


def _variable_name(value: str) -> str:
    if not _VARIABLE_RE.fullmatch(value):
        msg = f"{value!r} is not a pipeline variable name (letters, digits, '_')"
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--job-file", required=True, type=cli.existing_file, help="CLI v2 job YAML")
    parser.add_argument("--experiment-name", type=cli.asset_name, default=None)
    parser.add_argument("--output-variable", type=_variable_name, default="amlJobName")
    parser.add_argument(
        "--set", dest="settings", type=cli.job_override, action="append", default=[], help="PATH=VALUE"
    )
    parser.add_argument(
        "--overrides", type=cli.job_overrides, default={}, help="JSON object of PATH to VALUE"
    )
    parser.add_argument(
        "--environment", type=_environment_uri, default=None, help="azureml:<name>:<version> to run on"
    )
    return parser


def main(argv: Sequence[str] | None = None, jobs: JobsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {**args.overrides, **dict(args.settings)}
    if args.environment:
        pinned = environment_overrides(_job_document(args.job_file), args.environment)
        if not pinned:
            msg = f"--environment {args.environment}: {args.job_file} does not use that environment"
            raise InvalidArgumentError(msg)
        overrides |= pinned
    for path, value in sorted(overrides.items()):
        logger.info("Override %s=%s", path, value)
    name = (jobs or aml_client.from_args(args)).submit_job(
        args.job_file, experiment_name=args.experiment_name, overrides=overrides
    )
    logger.info("Submitted %s as job %s", args.job_file, name)
    ado.set_variable(args.output_variable, name, is_output=True)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
