"""Submit an Azure ML CLI v2 job YAML and publish its name as the output variable `amlJobName`.

The wait happens elsewhere (`aml_job_wait`), in agent jobs that can be re-queued, so this step is short.

    python -m pipelines.scripts.aml_job_submit --subscription-id ... --resource-group ... --workspace ... \
        --job-file jobs/train.yml [--experiment-name train] [--output-variable amlJobName] \
        [--set inputs.learning_rate=0.1 ...] [--overrides '{"tags.reason": "drift"}']

`--set PATH=VALUE` (repeatable) and `--overrides` (a JSON object of PATH to VALUE, what the aml-job.yml template
passes) change the YAML before it is submitted, like `az ml job create --set`: dotted paths into the job YAML.
"""

import argparse
import logging
import re
from collections.abc import Sequence

from pipelines.scripts import ado, aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import JobsApi

logger = logging.getLogger(__name__)

_VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    return parser


def main(argv: Sequence[str] | None = None, jobs: JobsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {**args.overrides, **dict(args.settings)}
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
