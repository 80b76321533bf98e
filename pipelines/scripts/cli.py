"""Argument validators, the shared workspace arguments and the process wrapper every script uses.

Validators are argparse `type=` callables: argparse prefixes their message with the argument's name, so
`--traffic-steps: 10,5,100 must increase strictly` reaches the log without extra plumbing.
"""

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipelines.scripts import ado, exit_codes
from pipelines.scripts.errors import InvalidArgumentError, PipelineScriptError

logger = logging.getLogger(__name__)

# Azure ML naming rules (online/batch endpoints and deployments; jobs; assets such as models).
_ENDPOINT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$")
_JOB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_ASSET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_LOG_ANALYTICS_RE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights/workspaces/[^/]+$",
    re.IGNORECASE,
)
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# An unexpanded Azure Pipelines macro means the variable the template referenced was never defined.
_UNEXPANDED_MACRO_RE = re.compile(r"\$\([^)]*\)")
# A dotted path into a job YAML, as `az ml job create --set` takes it (inputs.lr, outputs.data.version, tags.x).
_NON_EMPTY_RE = re.compile(r".+", re.DOTALL)
_YAML_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")


def _checked(value: str, pattern: re.Pattern[str], rule: str) -> str:
    if _UNEXPANDED_MACRO_RE.search(value):
        msg = f"{value!r} is an unexpanded pipeline variable: define it in the variable group"
        raise argparse.ArgumentTypeError(msg)
    if not pattern.fullmatch(value):
        msg = f"{value!r} is not valid: {rule}"
        raise argparse.ArgumentTypeError(msg)
    return value


def endpoint_name(value: str) -> str:
    """An online/batch endpoint or deployment name."""
    return _checked(value, _ENDPOINT_RE, "3-32 letters, digits or '-', starting with a letter")


def job_name(value: str) -> str:
    """An Azure ML job name."""
    return _checked(value, _JOB_RE, "1-255 letters, digits, '_' or '-', starting with a letter or digit")


def asset_name(value: str) -> str:
    """An Azure ML asset name (model, environment, data) or workspace/registry name."""
    return _checked(value, _ASSET_RE, "1-255 letters, digits, '.', '_' or '-', starting alphanumeric")


def subscription_id(value: str) -> str:
    """An Azure subscription ID (a GUID)."""
    return _checked(value, _GUID_RE, "must be a GUID such as 00000000-0000-0000-0000-000000000000")


def log_analytics_workspace_id(value: str) -> str:
    """The ARM ID of a Log Analytics workspace (Pulumi output logAnalyticsWorkspaceId)."""
    rule = "must be /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>"
    return _checked(value, _LOG_ANALYTICS_RE, rule)


def positive_int(value: str) -> int:
    """An integer > 0."""
    try:
        number = int(value)
    except ValueError:
        msg = f"{value!r} is not an integer"
        raise argparse.ArgumentTypeError(msg) from None
    if number <= 0:
        msg = f"{number} must be greater than 0"
        raise argparse.ArgumentTypeError(msg)
    return number


def non_negative_int(value: str) -> int:
    """An integer >= 0."""
    return 0 if value.strip() == "0" else positive_int(value)


def model_uri(value: str) -> str:
    """An `azureml:` model URI, or empty for "keep the model named in the deployment YAML"."""
    if value and not value.startswith("azureml:"):
        msg = f"{value!r} must be an azureml: model URI (azureml:name:version or azureml://registries/...)"
        raise argparse.ArgumentTypeError(msg)
    return value


def _override(path: str, value: object) -> tuple[str, str]:
    if not _YAML_PATH_RE.fullmatch(path):
        msg = f"{path!r} is not a dotted path into the job YAML (e.g. inputs.learning_rate)"
        raise argparse.ArgumentTypeError(msg)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        msg = f"{path}: {value!r} must be a string or a number"
        raise argparse.ArgumentTypeError(msg)
    return path, _checked(str(value), _NON_EMPTY_RE, "must not be empty: leave the override out instead")


def job_override(value: str) -> tuple[str, str]:
    """`PATH=VALUE`: a dotted path into a job YAML and the value to put there."""
    path, sep, text = value.partition("=")
    if not sep:
        msg = f"{value!r} must look like path=value"
        raise argparse.ArgumentTypeError(msg)
    return _override(path, text)


def job_overrides(value: str) -> dict[str, str]:
    """A JSON object of dotted paths to values (what a template's convertToJson of an object produces)."""
    try:
        document = json.loads(value) if value.strip() else {}
    except json.JSONDecodeError as err:
        msg = f"{value!r} is not JSON: {err}"
        raise argparse.ArgumentTypeError(msg) from None
    if not isinstance(document, dict):
        msg = f"{value!r} must be a JSON object of path to value"
        raise argparse.ArgumentTypeError(msg)
    return dict(_override(str(path), text) for path, text in document.items())


def existing_file(value: str) -> Path:
    """A path to a file that exists now (checked before any Azure call, so typos fail fast)."""
    path = Path(value)
    if not path.is_file():
        msg = f"{value!r} is not an existing file"
        raise argparse.ArgumentTypeError(msg)
    return path


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of `path`; InvalidArgumentError naming `what` (e.g. '--request-file') when it is not.

    Every script reads its input files here, so a file saved in another encoding fails with one line naming the
    argument, the file and the byte, not with a traceback or argparse's bare "invalid value".
    """
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        msg = f"{what} {path}: not UTF-8 text (byte {err.start} is 0x{path.read_bytes()[err.start]:02x}): save it as UTF-8"
        raise InvalidArgumentError(msg) from err
    except OSError as err:
        msg = f"{what} {path}: cannot be read ({err.strerror})"
        raise InvalidArgumentError(msg) from err


def workspace_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser whose help is the script's docstring, with the workspace arguments already added."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_workspace_arguments(parser)
    return parser


def add_workspace_arguments(parser: argparse.ArgumentParser) -> None:
    """The three arguments that locate an Azure ML workspace (Pulumi outputs of the same names)."""
    parser.add_argument("--subscription-id", required=True, type=subscription_id, help="subscriptionId")
    parser.add_argument("--resource-group", required=True, type=asset_name, help="resourceGroupName")
    parser.add_argument("--workspace", required=True, type=asset_name, help="workspaceName")


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a script's `main`, turning our exceptions into a logged issue and a documented exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return main(argv)
    except InvalidArgumentError as err:
        ado.log_issue("error", str(err))
        return exit_codes.USAGE
    except PipelineScriptError as err:
        ado.log_issue("error", str(err))
        return exit_codes.FAILED


def exit_with(main: Callable[[Sequence[str] | None], int]) -> None:
    """Entry point helper for `if __name__ == "__main__"` blocks."""
    sys.exit(run(main))
