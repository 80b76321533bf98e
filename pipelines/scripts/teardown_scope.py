"""Which resources of a stack only its own network can delete, read from the stack's state (`pulumi stack export`).

A private stack's data planes answer only inside its VNet: the Databricks provider deletes its objects (jobs,
secret scopes, policies, service principals) through the workspace's API, which a private stack reaches only
through its private endpoint. Every other resource is deleted through ARM, which answers from anywhere. So
teardown.yml first destroys the data-plane resources on the stack's own agents (`data-plane`: their URNs, one per
line, for `pulumi destroy --target ... --target-dependents`), then everything else from a Microsoft-hosted agent
(`check-hosted` first refuses when a private stack still holds data-plane resources, naming the pool to use).

The rule is the provider, not a list: a resource whose type is not an `azure-native:` one (nor Pulumi's own
`pulumi:` stack and provider resources) goes through a provider that calls a service's own API.

    python -m pipelines.scripts.teardown_scope data-plane --state state.json
    python -m pipelines.scripts.teardown_scope check-hosted --state state.json --outputs outputs.json
"""

import argparse
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.scripts import cli, exit_codes
from pipelines.scripts.errors import InvalidArgumentError, ProtectedStackError

logger = logging.getLogger(__name__)

CONTROL_PLANE_PREFIXES = ("azure-native:", "pulumi:")
"""Types deleted through ARM (azure-native) or with no cloud call at all (the stack, provider instances)."""
POOL_OUTPUT = "agentPoolName"
"""The stack output naming a private stack's Managed DevOps Pool (empty for a public stack)."""


def is_data_plane(resource_type: str) -> bool:
    """True for a resource whose provider calls a service's own API rather than ARM."""
    return not resource_type.startswith(CONTROL_PLANE_PREFIXES)


def data_plane_urns(resources: Iterable[Mapping[str, Any]]) -> list[str]:
    """The URNs of the data-plane resources among `resources` (entries of a stack export), in state order."""
    return [str(r["urn"]) for r in resources if r.get("custom") is True and is_data_plane(str(r["type"]))]


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(cli.read_text(path, what))
    except json.JSONDecodeError as err:
        msg = f"{what} {path}: not JSON ({err})"
        raise InvalidArgumentError(msg) from err


def _resources(path: Path) -> list[Mapping[str, Any]]:
    state = _json(path, "--state")
    if not isinstance(state, dict) or not isinstance(state.get("deployment"), dict):
        msg = f"--state {path}: not a `pulumi stack export` document (no 'deployment' object)"
        raise InvalidArgumentError(msg)
    resources = state["deployment"].get("resources") or []
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and "urn" in r and "type" in r for r in resources
    ):
        msg = f"--state {path}: deployment.resources must be a list of objects with 'urn' and 'type'"
        raise InvalidArgumentError(msg)
    return resources


def check_hosted(resources: Iterable[Mapping[str, Any]], outputs: Mapping[str, Any]) -> None:
    """Refuse a teardown from outside the VNet of a private stack that still holds data-plane resources."""
    left = data_plane_urns(resources)
    pool = str(outputs.get(POOL_OUTPUT) or "")
    if left and pool:
        shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
        msg = (
            f"the stack is private (output {POOL_OUTPUT} = {pool!r}) and still holds {len(left)} data-plane "
            f"resource(s) that only its VNet reaches: {shown}; queue teardown.yml with agentPool: {pool}"
        )
        raise ProtectedStackError(msg)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    data_plane = commands.add_parser("data-plane", help="print the URNs of the data-plane resources")
    data_plane.add_argument("--state", type=Path, required=True, help="a `pulumi stack export` file")
    hosted = commands.add_parser("check-hosted", help="refuse when only the stack's own agents can finish")
    hosted.add_argument("--state", type=Path, required=True, help="a `pulumi stack export` file")
    hosted.add_argument("--outputs", type=Path, required=True, help="a `pulumi stack output --json` file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    resources = _resources(args.state)
    if args.command == "data-plane":
        urns = data_plane_urns(resources)
        logger.info("%d data-plane resource(s) in the stack's state", len(urns))
        print("\n".join(urns))
        return exit_codes.SUCCESS
    outputs = _json(args.outputs, "--outputs")
    if not isinstance(outputs, dict):
        msg = f"--outputs {args.outputs}: must be a JSON object (`pulumi stack output --json`)"
        raise InvalidArgumentError(msg)
    check_hosted(resources, outputs)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
