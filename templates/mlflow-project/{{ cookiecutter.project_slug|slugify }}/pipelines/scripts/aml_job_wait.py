"""Wait for an Azure ML job, for at most one attempt's time budget, and report its end by exit code.

The wait is re-entrant: it holds no state between runs, so a pipeline re-queues it in a fresh agent job
whenever it exits with `STILL_RUNNING` (75), and a long training run never meets an agent's time limit.

Exit codes: 0 Completed; 1 Failed or NotResponding; 3 Canceled; 75 still running when this attempt's budget
ran out; 5 still running on the `--final-attempt` (the job is canceled first with `--on-timeout cancel`).

    python -m pipelines.scripts.aml_job_wait --subscription-id ... --resource-group ... --workspace ... \
        --job-name <name> [--attempt-budget-minutes 50] [--poll-seconds 30] \
        [--final-attempt [--on-timeout cancel]]
"""

import argparse
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipelines.scripts import aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import JobsApi
from pipelines.scripts.errors import InvalidArgumentError, TransientAzureError

logger = logging.getLogger(__name__)

COMPLETED = frozenset({"Completed"})
FAILED = frozenset({"Failed", "NotResponding"})
CANCELED = frozenset({"Canceled"})
# Consecutive transient errors tolerated before giving up: rides out a few minutes of throttling.
MAX_TRANSIENT_ERRORS = 5


@dataclass(frozen=True)
class WaitPolicy:
    """How long one attempt may wait and what to do when its budget runs out."""

    budget_seconds: float
    poll_seconds: float
    final_attempt: bool = False
    cancel_on_timeout: bool = False

    def __post_init__(self) -> None:
        if self.budget_seconds <= 0:
            msg = f"--attempt-budget-minutes must give a budget > 0 s, got {self.budget_seconds} s"
            raise InvalidArgumentError(msg)
        if self.poll_seconds <= 0:
            msg = f"--poll-seconds must be > 0, got {self.poll_seconds}"
            raise InvalidArgumentError(msg)


def _exit_code_for(status: str) -> int | None:
    """The exit code for a terminal status, None while the job is still going."""
    if status in COMPLETED:
        return exit_codes.SUCCESS
    if status in FAILED:
        return exit_codes.FAILED
    if status in CANCELED:
        return exit_codes.CANCELED
    return None


def wait_for_job(
    jobs: JobsApi,
    name: str,
    policy: WaitPolicy,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll `name` until it ends or `policy.budget_seconds` pass; return an `exit_codes` value."""
    deadline = clock() + policy.budget_seconds
    transient_errors = 0
    last_status = ""
    while True:
        try:
            status = jobs.job_status(name)
            transient_errors = 0
        except TransientAzureError as err:
            transient_errors += 1
            if transient_errors > MAX_TRANSIENT_ERRORS:
                raise
            logger.warning(
                "Status of %s unavailable (%d/%d): %s", name, transient_errors, MAX_TRANSIENT_ERRORS, err
            )
            status = last_status
        if status != last_status:
            logger.info("Job %s is %s", name, status)
            last_status = status
        code = _exit_code_for(status)
        if code is not None:
            return code
        remaining = deadline - clock()
        if remaining <= 0:
            return _out_of_budget(jobs, name, status, policy)
        sleep(min(policy.poll_seconds, remaining))


def _out_of_budget(jobs: JobsApi, name: str, status: str, policy: WaitPolicy) -> int:
    if not policy.final_attempt:
        logger.info("Job %s still %s after this attempt's budget: re-queue the wait", name, status)
        return exit_codes.STILL_RUNNING
    if policy.cancel_on_timeout:
        logger.error("Job %s still %s after the last attempt: canceling it", name, status)
        jobs.cancel_job(name)
    else:
        logger.error("Job %s still %s after the last attempt; it keeps running in Azure ML", name, status)
    return exit_codes.TIMED_OUT


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--job-name", required=True, type=cli.job_name, help="Azure ML job name")
    parser.add_argument("--attempt-budget-minutes", type=cli.positive_int, default=50)
    parser.add_argument("--poll-seconds", type=cli.positive_int, default=30)
    parser.add_argument("--final-attempt", action="store_true", help="exit 5, not 75, when still running")
    parser.add_argument(
        "--on-timeout",
        choices=("keep", "cancel"),
        default="keep",
        help="with --final-attempt: cancel the job?",
    )
    return parser


def main(argv: Sequence[str] | None = None, jobs: JobsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.on_timeout == "cancel" and not args.final_attempt:
        msg = "--on-timeout cancel needs --final-attempt: an intermediate attempt must never cancel the job"
        raise InvalidArgumentError(msg)
    policy = WaitPolicy(
        budget_seconds=args.attempt_budget_minutes * 60.0,
        poll_seconds=float(args.poll_seconds),
        final_attempt=args.final_attempt,
        cancel_on_timeout=args.on_timeout == "cancel",
    )
    return wait_for_job(jobs or aml_client.from_args(args), args.job_name, policy)


if __name__ == "__main__":
    cli.exit_with(main)
