"""Blue/green release to a managed online endpoint, with automatic rollback.

Sequence: deploy the idle colour (0% traffic) -> smoke test it directly with the `input_data` request ->
shift traffic in steps (e.g. 10, 50, 100), health-checking the new colour after each -> keep or delete the
old colour. Any failure restores the traffic split captured before the release.

Exit codes: 0 promoted; 1 failed and rolled back; 2 bad arguments; 4 rollback itself failed (page someone).

    python -m pipelines.scripts.blue_green --subscription-id ... --resource-group ... --workspace ... \
        --endpoint <name> --deployment-spec deployment.yml --request-file sample-request.json \
        [--traffic-steps 10,50,100] [--health-probes 3] [--step-wait-seconds 60] \
        [--previous keep|delete] [--failed keep|delete]
"""

import argparse
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from pipelines.scripts import ado, aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import OnlineEndpointsApi
from pipelines.scripts.errors import DeploymentError, InvalidArgumentError, PipelineScriptError
from pipelines.scripts.traffic_plan import idle_colour, live_deployment, parse_traffic_steps, split_plan

logger = logging.getLogger(__name__)


class Outcome(Enum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    # Nothing was changed: the endpoint was in a state this script must not guess about.
    REFUSED = "refused"
    ROLLBACK_FAILED = "rollback failed"


EXIT_CODES = {
    Outcome.PROMOTED: exit_codes.SUCCESS,
    Outcome.ROLLED_BACK: exit_codes.FAILED,
    Outcome.REFUSED: exit_codes.FAILED,
    Outcome.ROLLBACK_FAILED: exit_codes.ROLLBACK_FAILED,
}


@dataclass(frozen=True)
class Release:
    """What to release and how carefully."""

    endpoint: str
    deployment_spec: Path
    request_file: Path
    # A model URI (e.g. from model_register) replacing the spec's `model:`; None keeps the spec's.
    model: str | None = None
    traffic_steps: tuple[int, ...] = (10, 50, 100)
    health_probes: int = 3
    step_wait_seconds: float = 60.0
    delete_previous: bool = False
    delete_failed: bool = False


@dataclass
class Result:
    """How the release ended; `phase` names the step that failed, if any."""

    outcome: Outcome
    new_deployment: str
    previous_deployment: str | None
    phase: str
    error: str = ""
    # Every split requested, including one whose call failed (it may have been applied in part).
    splits_requested: list[dict[str, int]] = field(default_factory=list)

    @property
    def live_after(self) -> str | None:
        """The deployment that serves traffic once the script has finished."""
        return self.new_deployment if self.outcome is Outcome.PROMOTED else self.previous_deployment


def check_response(body: str, *, what: str) -> None:
    """A scoring response passes when it is JSON and not an error object."""
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as err:
        msg = f"{what}: response is not JSON: {body[:200]!r}"
        raise DeploymentError(msg) from err
    if parsed in (None, [], {}) or (isinstance(parsed, dict) and "error" in parsed):
        msg = f"{what}: response is empty or an error: {body[:200]!r}"
        raise DeploymentError(msg)


def _probe(api: OnlineEndpointsApi, release: Release, deployment: str, probes: int, what: str) -> None:
    state = api.deployment_state(release.endpoint, deployment)
    if state != "Succeeded":
        msg = f"{what}: deployment {deployment} provisioning state is {state}, expected Succeeded"
        raise DeploymentError(msg)
    for attempt in range(1, probes + 1):
        body = api.invoke(release.endpoint, deployment, release.request_file)
        check_response(body, what=f"{what} probe {attempt}/{probes}")


def release_blue_green(
    api: OnlineEndpointsApi, release: Release, *, sleep: Callable[[float], None] = time.sleep
) -> Result:
    """Run the release; never raises for Azure-side failures, the `Result` says what happened."""
    before = api.get_traffic(release.endpoint)
    previous = live_deployment(before)
    new = idle_colour(previous)
    result = Result(Outcome.PROMOTED, new, previous, phase="preflight")
    if before.get(new, 0) > 0:
        # A half-finished earlier release: shifting now would mix three states. A human decides.
        result.outcome = Outcome.REFUSED
        result.error = f"idle colour {new} already serves traffic {before}: finish or undo that release first"
        return result
    logger.info(
        "Endpoint %s: live=%s, releasing to %s; traffic before %s", release.endpoint, previous, new, before
    )
    try:
        result.phase = "deploy"
        api.create_or_update_deployment(release.endpoint, new, release.deployment_spec, release.model)
        result.phase = "smoke-test"
        _probe(api, release, new, 1, "smoke test")
        for split in split_plan(before, new, release.traffic_steps):
            result.phase = f"traffic-{split[new]}"
            result.splits_requested.append(split)
            api.set_traffic(release.endpoint, split)
            sleep(release.step_wait_seconds)
            _probe(api, release, new, release.health_probes, f"health check at {split[new]}%")
    except PipelineScriptError as err:
        result.error = str(err)
        logger.warning("Release failed during %s, rolling back: %s", result.phase, err)
        return _roll_back(api, release, before, result)
    result.phase = "cleanup"
    if previous is not None and release.delete_previous:
        api.delete_deployment(release.endpoint, previous)
    logger.info("Promoted %s on %s", new, release.endpoint)
    return result


def _roll_back(api: OnlineEndpointsApi, release: Release, before: dict[str, int], result: Result) -> Result:
    # Restore the exact split; a new endpoint had none, so the new colour is simply pinned to 0.
    restore = before or {result.new_deployment: 0}
    try:
        if result.splits_requested:
            api.set_traffic(release.endpoint, restore)
        if release.delete_failed:
            api.delete_deployment(release.endpoint, result.new_deployment)
    except PipelineScriptError as err:
        result.outcome, result.error = Outcome.ROLLBACK_FAILED, f"{result.error}; rollback failed: {err}"
        logger.critical("Rollback of %s failed: %s", release.endpoint, err)
        return result
    result.outcome = Outcome.ROLLED_BACK
    logger.warning("Rolled back %s to %s", release.endpoint, restore)
    return result


def _request_file(value: str) -> Path:
    path = cli.existing_file(value)
    try:
        payload = json.loads(cli.read_text(path, "--request-file"))
    except InvalidArgumentError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    except json.JSONDecodeError as err:
        msg = f"{value!r} is not valid JSON: {err}"
        raise argparse.ArgumentTypeError(msg) from None
    # Managed online endpoints take {"input_data": ...}; MLflow's local formats are rejected by Azure.
    if not isinstance(payload, dict) or "input_data" not in payload:
        msg = f"{value!r} must be a JSON object with an 'input_data' key (the managed endpoint format)"
        raise argparse.ArgumentTypeError(msg)
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--endpoint", required=True, type=cli.endpoint_name)
    parser.add_argument(
        "--deployment-spec", required=True, type=cli.existing_file, help="online deployment YAML"
    )
    parser.add_argument("--request-file", required=True, type=_request_file, help="JSON with 'input_data'")
    parser.add_argument("--model", type=cli.model_uri, default=None, help="model URI overriding the spec's")
    parser.add_argument("--traffic-steps", default="10,50,100", help="new colour's share at each step")
    parser.add_argument("--health-probes", type=cli.positive_int, default=3, help="requests per health check")
    parser.add_argument("--step-wait-seconds", type=cli.non_negative_int, default=60, help="dwell per step")
    parser.add_argument(
        "--previous", choices=("keep", "delete"), default="keep", help="old colour after success"
    )
    parser.add_argument(
        "--failed", choices=("keep", "delete"), default="keep", help="new colour after rollback"
    )
    return parser


def main(argv: Sequence[str] | None = None, api: OnlineEndpointsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    release = Release(
        endpoint=args.endpoint,
        deployment_spec=args.deployment_spec,
        request_file=args.request_file,
        model=args.model or None,
        traffic_steps=parse_traffic_steps(args.traffic_steps),
        health_probes=args.health_probes,
        step_wait_seconds=float(args.step_wait_seconds),
        delete_previous=args.previous == "delete",
        delete_failed=args.failed == "delete",
    )
    result = release_blue_green(api or aml_client.from_args(args), release)
    if result.outcome is not Outcome.PROMOTED:
        ado.log_issue(
            "error", f"{release.endpoint}: {result.outcome.value} at {result.phase}: {result.error}"
        )
    ado.set_variable("liveDeployment", result.live_after or "", is_output=True)
    return EXIT_CODES[result.outcome]


if __name__ == "__main__":
    cli.exit_with(main)
