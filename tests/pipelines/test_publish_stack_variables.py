"""The writer of stack variables, against fakes of the Azure DevOps and GitHub REST APIs (the only boundary that
needs a cloud) that refuse what those services refuse. Idempotent: a rerun with the same outputs writes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from pipelines.scripts import cli, exit_codes, publish_stack_variables, stack_variables

ORG = "https://dev.azure.com/contoso/"
PROJECT_ID = "7d3c7c4e-6f43-4c5e-9d60-2f8d7a1b0c11"
ENV = {"SYSTEM_ACCESSTOKEN": "token", "SYSTEM_COLLECTIONURI": ORG, "SYSTEM_TEAMPROJECTID": PROJECT_ID,
       "GITHUB_VARIABLES_TOKEN": "gh-token"}  # fmt: skip


def outputs(**changes: object) -> dict[str, object]:
    """Stack outputs shaped like `pulumi stack output --json` of a public dev stack."""
    values: dict[str, object] = {v.output: f"{v.output}-value" for v in stack_variables.MAPPING}
    values |= {"dataLakeDatastoreNames": ["datalake_raw", "datalake_curated"], "agentPoolName": "",
               "amlRegistryName": "mlreg-mlops-prod", "gpuClusterName": "",
               "githubRunsOn": "", "amlRegistryGithubRunsOn": ""}  # fmt: skip
    return values | changes


class FakeAzureDevOps:
    """Variablegroups REST API 7.1: groups by id; a group is replaced as a whole by PUT; a create or update
    without a project reference is refused (400), as is an update of an unknown id (404); secret values are
    never returned, and a PUT that sends a secret back without its value keeps the value.
    https://learn.microsoft.com/rest/api/azure/devops/distributedtask/variablegroups/update
    """

    def __init__(self) -> None:
        self.groups: dict[int, dict[str, Any]] = {}
        self.secrets: dict[tuple[int, str], str] = {}
        self.writes: list[str] = []

    def send(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        parsed = urlparse(url)
        assert parse_qs(parsed.query)["api-version"] == ["7.1"]
        if method == "GET":
            assert parsed.path == f"/contoso/{PROJECT_ID}/_apis/distributedtask/variablegroups"
            name = parse_qs(parsed.query)["groupName"][0]
            found = [self._public(g) for g in self.groups.values() if g["name"] == name]
            return 200, {"count": len(found), "value": found}
        assert body is not None
        if not body.get("variableGroupProjectReferences"):
            return 400, {"message": "VariableGroupProjectReferences cannot be null or empty"}
        self.writes.append(method)
        if method == "POST":
            group_id = len(self.groups) + 1
        else:
            group_id = int(parsed.path.rsplit("/", 1)[1])
            if group_id not in self.groups:
                return 404, {"message": f"Variable group {group_id} not found"}
        variables = {}
        for key, variable in body["variables"].items():
            if variable.get("isSecret") and variable.get("value") is None:
                variable = {**variable, "value": self.secrets[(group_id, key)]}
            if variable.get("isSecret"):
                self.secrets[(group_id, key)] = variable["value"]
            variables[key] = dict(variable)
        self.groups[group_id] = {**body, "id": group_id, "variables": variables}
        return 200, self._public(self.groups[group_id])

    @staticmethod
    def _public(group: dict[str, Any]) -> dict[str, Any]:
        hidden = {
            k: ({**v, "value": None} if v.get("isSecret") else v) for k, v in group["variables"].items()
        }
        return {**group, "variables": hidden}

    def values(self, group_id: int = 1) -> dict[str, str]:
        return {k: v["value"] for k, v in self.groups[group_id]["variables"].items()}


class FakeGitHub:
    """Environment variables REST API: an unknown environment is 404, creating an existing variable 409, a
    variable without a value 422.
    https://docs.github.com/rest/actions/variables#create-an-environment-variable
    """

    def __init__(self, environments: set[str]) -> None:
        self.variables: dict[str, dict[str, str]] = {env: {} for env in environments}
        self.writes: list[tuple[str, str]] = []

    def send(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        match = re.fullmatch(
            r"https://api\.github\.com/repos/contoso/churn/environments/([^/]+)/variables(?:/([A-Z_]+))?(\?.*)?",
            url,
        )
        assert match, url
        environment, name = match[1], match[2]
        if environment not in self.variables:
            return 404, {"message": "Not Found"}
        store = self.variables[environment]
        if method == "GET":
            page = int(parse_qs(urlparse(url).query)["page"][0])
            items = sorted(store.items())[(page - 1) * 30 : page * 30]
            return 200, {"total_count": len(store), "variables": [{"name": k, "value": v} for k, v in items]}
        self.writes.append((method, name or (body or {}).get("name", "")))
        if method == "DELETE":
            return (204, None) if store.pop(name, None) is not None else (404, {"message": "Not Found"})
        assert body is not None
        if not body.get("value"):
            return 422, {"message": "Invalid request: value can't be blank"}
        if method == "POST":
            if body["name"] in store:
                return 409, {"message": "Already exists"}
            store[body["name"]] = body["value"]
            return 201, None
        if name not in store:
            return 404, {"message": "Not Found"}
        store[name] = body["value"]
        return 204, None


def _run(tmp_path: Path, fake: Any, stack_outputs: dict[str, object], *extra: str) -> int:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs))
    argv = ["--stack", "dev", "--outputs", str(path), *extra]
    return cli.run(lambda a: publish_stack_variables.main(a, http=fake, environ=ENV), argv)


def test_the_first_deploy_creates_the_group_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    ado = FakeAzureDevOps()
    assert _run(tmp_path, ado, outputs()) == exit_codes.SUCCESS
    group = ado.groups[1]
    assert group["name"] == "mlops-aml-dev"
    assert ado.values() == stack_variables.variables_from_outputs(outputs())
    assert "AML_RUNS_ON" not in ado.values(), "a GitHub-only variable went into the Azure DevOps group"
    assert _run(tmp_path, ado, outputs()) == exit_codes.SUCCESS
    assert ado.writes == ["POST"], "an unchanged stack must not rewrite its variable group"


def test_a_changed_output_updates_only_the_group_and_keeps_what_the_mapping_does_not_own(
    tmp_path: Path,
) -> None:
    ado = FakeAzureDevOps()
    _run(tmp_path, ado, outputs())
    ado.groups[1]["variables"]["TEAM_NOTE"] = {"value": "set by hand", "isSecret": False}
    ado.groups[1]["variables"]["API_KEY"] = {"value": "s3cret", "isSecret": True}
    ado.secrets[(1, "API_KEY")] = "s3cret"
    assert _run(tmp_path, ado, outputs(cpuClusterMaxNodes=8)) == exit_codes.SUCCESS
    values = ado.values()
    assert values["AML_CPU_CLUSTER_MAX_NODES"] == "8"
    assert values["TEAM_NOTE"] == "set by hand" and values["API_KEY"] == "s3cret"
    assert ado.writes == ["POST", "PUT"]


def test_github_gets_the_same_names_and_its_runners_and_no_empty_values(tmp_path: Path) -> None:
    github = FakeGitHub({"dev"})
    github.variables["dev"]["AML_GPU_CLUSTER"] = "gpu-cluster"  # enabled before, disabled now
    code = _run(
        tmp_path, github, outputs(), "--azure-devops-group", "none", "--github-repository", "contoso/churn"
    )
    assert code == exit_codes.SUCCESS
    stored = github.variables["dev"]
    wanted = stack_variables.variables_from_outputs(outputs(), github=True)
    assert stored == {k: v for k, v in wanted.items() if v}
    assert stored["AML_RUNS_ON"] == '"ubuntu-24.04"' and "AML_GPU_CLUSTER" not in stored
    writes = len(github.writes)
    _run(tmp_path, github, outputs(), "--azure-devops-group", "none", "--github-repository", "contoso/churn")
    assert len(github.writes) == writes, "an unchanged stack must not rewrite its environment's variables"


def test_a_missing_github_environment_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github = FakeGitHub(set())
    code = _run(
        tmp_path, github, outputs(), "--azure-devops-group", "none", "--github-repository", "contoso/churn"
    )
    assert code == exit_codes.FAILED
    assert "contoso/churn environment dev does not exist" in capsys.readouterr().out


def test_outputs_the_mapping_needs_are_checked_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ado = FakeAzureDevOps()
    broken = outputs()
    del broken["workspaceName"]
    assert _run(tmp_path, ado, broken) == exit_codes.USAGE
    assert "stack outputs workspaceName are missing (needed by AML_WORKSPACE)" in capsys.readouterr().out
    assert ado.writes == []


def test_the_token_comes_from_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs()))
    environ = {k: v for k, v in ENV.items() if k != "SYSTEM_ACCESSTOKEN"}
    code = cli.run(
        lambda a: publish_stack_variables.main(a, environ=environ), ["--stack", "dev", "--outputs", str(path)]
    )
    assert code == exit_codes.USAGE
    assert "SYSTEM_ACCESSTOKEN is not set" in capsys.readouterr().out


def test_dev_fills_every_github_environment_that_works_on_the_dev_workspace(tmp_path: Path) -> None:
    github = FakeGitHub({"dev", "promotion"})
    argv = ["--azure-devops-group", "none", "--github-repository", "contoso/churn",
            "--github-environment", "dev", "--github-environment", "promotion"]  # fmt: skip
    assert _run(tmp_path, github, outputs(), *argv) == exit_codes.SUCCESS
    assert github.variables["dev"] == github.variables["promotion"]
    assert github.variables["promotion"]["AML_WORKSPACE"] == "workspaceName-value"
