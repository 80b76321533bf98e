"""Blue/green release state machine against a fake online endpoint: promotion, rollback, refusals."""

import pytest

from pipelines.scripts import blue_green, cli, exit_codes
from pipelines.scripts.blue_green import Outcome, Release, release_blue_green
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeOnlineEndpoint


def _release(deployment_spec, request_file, **overrides) -> Release:
    return Release(
        endpoint="churn-online",
        deployment_spec=deployment_spec,
        request_file=request_file,
        step_wait_seconds=0,
        **overrides,
    )


def test_blue_green_promotes_green_to_100_in_steps_and_keeps_blue_with_fake_ml_client(
    deployment_spec, request_file
):
    endpoint = FakeOnlineEndpoint({"blue": 100})
    result = release_blue_green(endpoint, _release(deployment_spec, request_file), sleep=lambda s: None)
    assert result.outcome is Outcome.PROMOTED
    assert endpoint.traffic_history == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 0, "green": 100},
    ]
    assert endpoint.traffic == {"blue": 0, "green": 100}
    assert "blue" in endpoint.deployments  # kept for a fast manual rollback
    # The smoke test hit green directly while it had no traffic, before any shift.
    first_invoke = next(call for call in endpoint.calls if call[0] == "invoke")
    assert first_invoke == ("invoke", "green", 0)


def test_blue_green_deletes_the_previous_colour_when_asked_with_fake_ml_client(deployment_spec, request_file):
    endpoint = FakeOnlineEndpoint({"green": 100})
    release = _release(deployment_spec, request_file, delete_previous=True, traffic_steps=(25, 100))
    result = release_blue_green(endpoint, release, sleep=lambda s: None)
    assert (result.outcome, result.new_deployment) == (Outcome.PROMOTED, "blue")
    assert endpoint.traffic == {"blue": 100}
    assert "green" not in endpoint.deployments


def test_blue_green_rolls_back_when_smoke_test_fails_with_fake_ml_client(deployment_spec, request_file):
    endpoint = FakeOnlineEndpoint({"blue": 100})
    endpoint.healthy = lambda deployment, percent: deployment != "green"
    result = release_blue_green(endpoint, _release(deployment_spec, request_file), sleep=lambda s: None)
    assert (result.outcome, result.phase) == (Outcome.ROLLED_BACK, "smoke-test")
    assert endpoint.traffic_history == []  # no user ever reached green
    assert endpoint.traffic == {"blue": 100, "green": 0}
    assert "green" in endpoint.deployments  # kept at 0% for its logs (failed=keep)


def test_blue_green_rolls_back_when_health_fails_at_50_percent_with_fake_ml_client(
    deployment_spec, request_file
):
    endpoint = FakeOnlineEndpoint({"blue": 100})
    endpoint.healthy = lambda deployment, percent: not (deployment == "green" and percent >= 50)
    release = _release(deployment_spec, request_file, delete_failed=True)
    result = release_blue_green(endpoint, release, sleep=lambda s: None)
    assert (result.outcome, result.phase) == (Outcome.ROLLED_BACK, "traffic-50")
    assert endpoint.traffic_history == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 100},  # the exact split from before the release
    ]
    assert "green" not in endpoint.deployments  # failed=delete
    assert blue_green.EXIT_CODES[result.outcome] == exit_codes.FAILED


def test_blue_green_reports_rollback_failure_distinctly_with_fake_ml_client(deployment_spec, request_file):
    endpoint = FakeOnlineEndpoint({"blue": 100})
    endpoint.healthy = lambda deployment, percent: not (deployment == "green" and percent >= 10)
    endpoint.fail_set_traffic_to = {"blue": 100}
    result = release_blue_green(endpoint, _release(deployment_spec, request_file), sleep=lambda s: None)
    assert result.outcome is Outcome.ROLLBACK_FAILED
    assert blue_green.EXIT_CODES[result.outcome] == exit_codes.ROLLBACK_FAILED == 4
    assert "rollback failed" in result.error


def test_blue_green_rolls_back_without_traffic_changes_when_provisioning_fails_with_fake_ml_client(
    deployment_spec, request_file
):
    endpoint = FakeOnlineEndpoint({"blue": 100})
    endpoint.fail_create = True
    result = release_blue_green(endpoint, _release(deployment_spec, request_file), sleep=lambda s: None)
    assert (result.outcome, result.phase) == (Outcome.ROLLED_BACK, "deploy")
    assert not [call for call in endpoint.calls if call[0] == "set_traffic"]


def test_first_release_to_an_empty_endpoint_goes_straight_to_100_with_fake_ml_client(
    deployment_spec, request_file
):
    endpoint = FakeOnlineEndpoint({}, deployments={})
    result = release_blue_green(endpoint, _release(deployment_spec, request_file), sleep=lambda s: None)
    assert (result.outcome, result.previous_deployment) == (Outcome.PROMOTED, None)
    assert endpoint.traffic_history == [{"blue": 100}]


def test_blue_green_refuses_when_the_idle_colour_already_serves_traffic_with_fake_ml_client(
    deployment_spec, request_file
):
    endpoint = FakeOnlineEndpoint({"blue": 70, "green": 30})
    result = release_blue_green(endpoint, _release(deployment_spec, request_file), sleep=lambda s: None)
    assert result.outcome is Outcome.REFUSED
    assert endpoint.calls == []  # nothing touched


def test_cli_promotes_and_publishes_the_live_deployment_with_fake_ml_client(
    deployment_spec, request_file, capsys
):
    endpoint = FakeOnlineEndpoint({"blue": 100})
    argv = [
        *WORKSPACE_ARGS,
        "--endpoint", "churn-online",
        "--deployment-spec", str(deployment_spec),
        "--request-file", str(request_file),
        "--model", "azureml://registries/mlops-registry/models/churn/versions/3",
        "--step-wait-seconds", "0",
    ]  # fmt: skip
    assert cli.run(lambda a: blue_green.main(a, api=endpoint), argv) == exit_codes.SUCCESS
    assert "##vso[task.setvariable variable=liveDeployment;isOutput=true]green" in capsys.readouterr().out
    assert (
        "create",
        "green",
        "azureml://registries/mlops-registry/models/churn/versions/3",
    ) in endpoint.calls


def test_cli_rejects_a_request_without_input_data(deployment_spec, tmp_path, capsys):
    wrong = tmp_path / "request.json"
    wrong.write_text('{"dataframe_split": {"columns": ["a"], "data": [[1]]}}')
    argv = [*WORKSPACE_ARGS, "--endpoint", "churn-online", "--deployment-spec", str(deployment_spec)]
    with pytest.raises(SystemExit) as exit_info:
        blue_green.main([*argv, "--request-file", str(wrong)], api=FakeOnlineEndpoint({"blue": 100}))
    assert exit_info.value.code == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "--request-file" in err and "input_data" in err


def test_cli_rejects_traffic_steps_that_do_not_end_at_100(deployment_spec, request_file, capsys):
    argv = [
        *WORKSPACE_ARGS,
        "--endpoint", "churn-online",
        "--deployment-spec", str(deployment_spec),
        "--request-file", str(request_file),
        "--traffic-steps", "10,50",
    ]  # fmt: skip
    endpoint = FakeOnlineEndpoint({"blue": 100})
    assert cli.run(lambda a: blue_green.main(a, api=endpoint), argv) == exit_codes.USAGE
    assert "--traffic-steps '10,50' must end at 100" in capsys.readouterr().out
    assert endpoint.calls == []
