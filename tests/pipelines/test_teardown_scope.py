"""pipelines/scripts/teardown_scope.py: which resources of a stack's state only its own network can delete, and the
refusal of a hosted teardown that would fail on them. Pure functions and the real entry point on files; the
program-derived side (every non-azure-native resource of a private Databricks stack) is in
tests/twin/test_teardown_in_twin.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.scripts import cli, exit_codes, teardown_scope
from pipelines.scripts.errors import ProtectedStackError

STACK = "urn:pulumi:pr-42::azure-mlops::"
STATE = [
    {"urn": f"{STACK}pulumi:pulumi:Stack::azure-mlops-pr-42", "type": "pulumi:pulumi:Stack", "custom": False},
    {"urn": f"{STACK}azure-mlops:databricks:DatabricksJob::job", "type": "azure-mlops:databricks:DatabricksJob", "custom": False},
    {"urn": f"{STACK}pulumi:providers:databricks::workspace", "type": "pulumi:providers:databricks", "custom": True},
    {"urn": f"{STACK}azure-native:databricks:Workspace::dbw", "type": "azure-native:databricks:Workspace", "custom": True},
    {"urn": f"{STACK}databricks:index/job:Job::train", "type": "databricks:index/job:Job", "custom": True},
    {"urn": f"{STACK}databricks:index/secretScope:SecretScope::scope", "type": "databricks:index/secretScope:SecretScope", "custom": True},
]  # fmt: skip


def test_data_plane_resources_are_the_custom_ones_of_a_provider_that_is_not_azure_native() -> None:
    assert teardown_scope.data_plane_urns(STATE) == [
        f"{STACK}databricks:index/job:Job::train",
        f"{STACK}databricks:index/secretScope:SecretScope::scope",
    ]
    # Components and Pulumi's own resources make no cloud call; an entry without `custom` is not trusted as one.
    assert teardown_scope.data_plane_urns([{"urn": "u", "type": "databricks:index/job:Job"}]) == []


def test_a_hosted_teardown_of_a_private_stack_with_data_plane_resources_is_refused_naming_the_pool() -> None:
    with pytest.raises(ProtectedStackError) as raised:
        teardown_scope.check_hosted(STATE, {"agentPoolName": "mdp-mlops-pr-abc123"})
    message = str(raised.value)
    assert "still holds 2 data-plane resource(s)" in message
    assert message.endswith("queue teardown.yml with agentPool: mdp-mlops-pr-abc123")
    # Public (no pool): a hosted agent reaches its workspace; private but cleared: nothing left to refuse.
    teardown_scope.check_hosted(STATE, {"agentPoolName": ""})
    teardown_scope.check_hosted(STATE[:4], {"agentPoolName": "mdp-mlops-pr-abc123"})


def _write(tmp_path: Path, name: str, value: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_the_entry_point_prints_one_urn_a_line_and_exits_by_the_documented_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = _write(tmp_path, "state.json", {"version": 3, "deployment": {"resources": STATE}})
    outputs = _write(tmp_path, "outputs.json", {"agentPoolName": "mdp-x"})
    assert cli.run(teardown_scope.main, ["data-plane", "--state", str(state)]) == exit_codes.SUCCESS
    assert capsys.readouterr().out.split() == teardown_scope.data_plane_urns(STATE)
    assert cli.run(
        teardown_scope.main, ["check-hosted", "--state", str(state), "--outputs", str(outputs)]
    ) == (exit_codes.FAILED)
    not_export = _write(tmp_path, "bad.json", {"resources": []})
    assert cli.run(teardown_scope.main, ["data-plane", "--state", str(not_export)]) == exit_codes.USAGE
    assert "not a `pulumi stack export` document" in capsys.readouterr().out
    (tmp_path / "text.json").write_text("{", encoding="utf-8")
    assert (
        cli.run(teardown_scope.main, ["data-plane", "--state", str(tmp_path / "text.json")])
        == exit_codes.USAGE
    )
