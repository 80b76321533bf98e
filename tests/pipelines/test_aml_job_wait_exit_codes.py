"""The re-entrant AML job wait: exit codes per terminal status, per-attempt budget, final attempt."""

import pytest

from pipelines.scripts import aml_job_wait, cli, exit_codes
from pipelines.scripts.aml_job_wait import WaitPolicy, wait_for_job
from pipelines.scripts.errors import InvalidArgumentError, TransientAzureError
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeClock, FakeJobs

POLICY = WaitPolicy(budget_seconds=600, poll_seconds=30)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["Queued", "Running", "Completed"], exit_codes.SUCCESS),
        (["Running", "Failed"], exit_codes.FAILED),
        (["Running", "NotResponding"], exit_codes.FAILED),
        (["Preparing", "Canceled"], exit_codes.CANCELED),
    ],
)
def test_wait_returns_the_exit_code_of_the_terminal_status_with_fake_ml_client(statuses, expected):
    clock = FakeClock()
    assert wait_for_job(FakeJobs(statuses), "job-1", POLICY, clock=clock, sleep=clock.sleep) == expected


def test_wait_exits_75_to_requeue_when_still_running_past_the_attempt_budget_with_fake_ml_client():
    clock, jobs = FakeClock(), FakeJobs(["Running"])
    code = wait_for_job(jobs, "job-1", POLICY, clock=clock, sleep=clock.sleep)
    assert code == exit_codes.STILL_RUNNING == 75
    assert clock.now == pytest.approx(600)  # waited the whole budget, no more
    assert max(clock.sleeps) <= 30
    assert jobs.canceled == []  # an intermediate attempt never cancels


def test_final_attempt_times_out_and_cancels_only_when_asked_with_fake_ml_client():
    clock, jobs = FakeClock(), FakeJobs(["Running"])
    final_keep = WaitPolicy(budget_seconds=60, poll_seconds=30, final_attempt=True)
    assert wait_for_job(jobs, "job-1", final_keep, clock=clock, sleep=clock.sleep) == exit_codes.TIMED_OUT
    assert jobs.canceled == []
    final_cancel = WaitPolicy(budget_seconds=60, poll_seconds=30, final_attempt=True, cancel_on_timeout=True)
    clock = FakeClock()
    assert wait_for_job(jobs, "job-1", final_cancel, clock=clock, sleep=clock.sleep) == 5
    assert jobs.canceled == ["job-1"]


def test_wait_rides_out_transient_errors_but_not_a_long_outage_with_fake_ml_client():
    flaky = FakeJobs([TransientAzureError("HTTP 503"), TransientAzureError("HTTP 429"), "Completed"])
    clock = FakeClock()
    assert wait_for_job(flaky, "job-1", POLICY, clock=clock, sleep=clock.sleep) == exit_codes.SUCCESS
    outage = FakeJobs([TransientAzureError("HTTP 503")])
    with pytest.raises(TransientAzureError):
        clock = FakeClock()
        wait_for_job(outage, "job-1", POLICY, clock=clock, sleep=clock.sleep)
    assert outage.status_calls == aml_job_wait.MAX_TRANSIENT_ERRORS + 1


def test_cli_main_maps_a_failed_job_to_exit_1_with_fake_ml_client():
    argv = [*WORKSPACE_ARGS, "--job-name", "train_1", "--poll-seconds", "1"]
    assert cli.run(lambda a: aml_job_wait.main(a, jobs=FakeJobs(["Failed"])), argv) == exit_codes.FAILED


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (["--attempt-budget-minutes", "0"], "--attempt-budget-minutes"),
        (["--poll-seconds", "ten"], "--poll-seconds"),
        (["--subscription-id", "not-a-guid"], "--subscription-id"),
    ],
)
def test_cli_rejects_bad_arguments_naming_the_argument(bad, named, capsys):
    argv = [*WORKSPACE_ARGS, "--job-name", "train_1", *bad]
    with pytest.raises(SystemExit) as exit_info:
        aml_job_wait.main(argv, jobs=FakeJobs(["Completed"]))
    assert exit_info.value.code == exit_codes.USAGE
    assert named in capsys.readouterr().err


def test_cli_refuses_cancel_on_an_intermediate_attempt(capsys):
    argv = [*WORKSPACE_ARGS, "--job-name", "train_1", "--on-timeout", "cancel"]
    assert cli.run(lambda a: aml_job_wait.main(a, jobs=FakeJobs(["Running"])), argv) == exit_codes.USAGE
    assert "--on-timeout cancel needs --final-attempt" in capsys.readouterr().out


def test_cli_names_an_unexpanded_pipeline_variable(capsys):
    argv = [*WORKSPACE_ARGS, "--job-name", "$(trainJobName)"]
    with pytest.raises(SystemExit):
        aml_job_wait.main(argv, jobs=FakeJobs(["Completed"]))
    assert "--job-name" in (err := capsys.readouterr().err) and "unexpanded pipeline variable" in err


def test_wait_policy_rejects_a_non_positive_budget():
    with pytest.raises(InvalidArgumentError, match="--attempt-budget-minutes"):
        WaitPolicy(budget_seconds=0, poll_seconds=30)
