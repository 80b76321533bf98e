"""The twin's HTTP boundary: Azure DevOps variable groups and GitHub environment variables as their REST APIs
answer them; every other URL is unreachable, as from an offline agent. Fakes the network only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.azure_twin import devops
from tests.support.azure_twin.model import AzureTwin

ORG = "https://dev.azure.com/contoso/"


def _send(twin: AzureTwin, method: str, url: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    with devops.urlopen(twin, urllib.request.Request(url, data=data, method=method)) as response:
        text = response.read().decode()
        return response.status, json.loads(text) if text else None


def test_a_variable_group_is_created_then_updated_in_place():
    """Variablegroups REST API 7.1: list by name, create with POST, replace with PUT on its id
    (https://learn.microsoft.com/en-us/rest/api/azure/devops/distributedtask/variablegroups/update)."""
    twin = AzureTwin()
    listed = f"{ORG}project-id/_apis/distributedtask/variablegroups?groupName=mlops-aml-dev&api-version=7.1"
    assert _send(twin, "GET", listed) == (200, {"count": 0, "value": []})
    group = {"name": "mlops-aml-dev", "variables": {"AML_WORKSPACE": {"value": "mlw-a"}}}
    status, created = _send(twin, "POST", f"{ORG}_apis/distributedtask/variablegroups?api-version=7.1", group)
    assert (status, created["id"]) == (200, 1)
    group["variables"]["AML_WORKSPACE"]["value"] = "mlw-b"
    _send(twin, "PUT", f"{ORG}_apis/distributedtask/variablegroups/1?api-version=7.1", group)
    assert _send(twin, "GET", listed)[1]["value"][0]["variables"] == {"AML_WORKSPACE": {"value": "mlw-b"}}
    with pytest.raises(urllib.error.HTTPError, match="404"):
        _send(twin, "PUT", f"{ORG}_apis/distributedtask/variablegroups/7?api-version=7.1", group)


def test_github_environment_variables_exist_only_in_environments_people_created():
    twin = AzureTwin()
    base = "https://api.github.com/repos/contoso/churn/environments"
    assert _send(twin, "POST", f"{base}/staging/variables", {"name": "AML_WORKSPACE", "value": "w"})[0] == 201
    assert _send(twin, "GET", f"{base}/staging/variables?per_page=30&page=1")[1]["variables"] == [
        {"name": "AML_WORKSPACE", "value": "w"}
    ]
    with pytest.raises(urllib.error.HTTPError, match="404"):
        _send(twin, "GET", f"{base}/qa/variables")


def test_any_other_url_is_unreachable():
    with pytest.raises(urllib.error.URLError) as refused:
        _send(AzureTwin(), "GET", "https://management.azure.com/subscriptions")
    assert "no network: GET https://management.azure.com/subscriptions" in str(refused.value.reason)
