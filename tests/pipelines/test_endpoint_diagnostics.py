"""Diagnostic settings of online endpoints: what the platform's endpoint alerts query reaches Log Analytics, once."""

import json
import logging
import re
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from infra.components.alerts import LOG_RULES
from pipelines.scripts import cli, endpoint_diagnostics, exit_codes
from pipelines.scripts.aml_client import DIAGNOSTIC_SETTINGS_API_VERSION, AzureMlClient
from pipelines.scripts.errors import DeploymentError, TransientAzureError
from tests.pipelines.aml_fakes import WORKSPACE_ARGS

LAW = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-mlops-dev/providers/"
    "Microsoft.OperationalInsights/workspaces/log-mlops-dev"
)
ENDPOINT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-mlops-dev/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-mlops-dev/onlineEndpoints/churn-online"
)


class FakeDiagnostics:
    """DiagnosticSettingsApi over an in-memory ARM: settings per resource, every PUT recorded."""

    def __init__(
        self, deployments: list[str], settings: Mapping[str, list[dict[str, Any]]] | None = None
    ) -> None:
        self.deployments = deployments
        self.settings = {resource: list(found) for resource, found in (settings or {}).items()}
        self.puts: list[tuple[str, str, dict[str, Any]]] = []

    def online_deployment_names(self, endpoint: str) -> list[str]:
        return list(self.deployments)

    def diagnostic_settings(self, resource_id: str) -> list[dict[str, Any]]:
        return list(self.settings.get(resource_id, []))

    def put_diagnostic_setting(self, resource_id: str, name: str, properties: Mapping[str, Any]) -> None:
        self.puts.append((resource_id, name, dict(properties)))
        kept = [s for s in self.settings.get(resource_id, []) if s["name"] != name]
        self.settings[resource_id] = [*kept, {"name": name, "properties": dict(properties)}]


def _setting(
    name: str, workspace: str, logs: list[str], metrics: list[str], group: str = ""
) -> dict[str, Any]:
    entries = [{"category": category, "enabled": True} for category in logs]
    if group:
        entries.append({"categoryGroup": group, "enabled": True})
    return {
        "name": name,
        "properties": {
            "workspaceId": workspace,
            "logs": entries,
            "metrics": [{"category": category, "enabled": True} for category in metrics],
        },
    }


def _run(api: FakeDiagnostics, *extra: str) -> int:
    argv = [*WORKSPACE_ARGS, "--endpoint", "churn-online", "--log-analytics-workspace-id", LAW, *extra]
    return cli.run(lambda a: endpoint_diagnostics.main(a, api=api), argv)


def test_the_categories_are_what_the_platforms_endpoint_alerts_query():
    """infra/components/alerts.py: traffic-log rules read the endpoint's log table, the rest AzureMetrics."""
    tables = {re.match(r"\s*(\w+)", rule.query).group(1) for rule in LOG_RULES.values()}
    assert tables == {"AmlOnlineEndpointTrafficLog", "AzureMetrics"}
    assert endpoint_diagnostics.ENDPOINT_LOGS == ("AmlOnlineEndpointTrafficLog",)
    assert endpoint_diagnostics.METRICS == ("AllMetrics",)
    # The CPU and memory rules split ResourceId at the deployment level: deployments need their own setting.
    assert any('split(ResourceId, "/")[12]' in rule.query for rule in LOG_RULES.values())
    targets = endpoint_diagnostics.targets(ENDPOINT_ID, ["blue", "green"])
    assert [(t.resource_id.removeprefix(ENDPOINT_ID), t.logs, t.metrics) for t in targets] == [
        ("", ("AmlOnlineEndpointTrafficLog",), ("AllMetrics",)),
        ("/deployments/blue", (), ("AllMetrics",)),
        ("/deployments/green", (), ("AllMetrics",)),
    ]


def test_the_endpoint_and_each_deployment_get_a_setting_and_a_second_run_writes_nothing(caplog):
    caplog.set_level(logging.INFO, logger=endpoint_diagnostics.__name__)
    api = FakeDiagnostics(["blue", "green"])

    assert _run(api) == exit_codes.SUCCESS
    assert [(resource.removeprefix(ENDPOINT_ID), name) for resource, name, _ in api.puts] == [
        ("", "azure-mlops-alerts"),
        ("/deployments/blue", "azure-mlops-alerts"),
        ("/deployments/green", "azure-mlops-alerts"),
    ]
    assert api.puts[0][2] == {
        "workspaceId": LAW,
        "logs": [{"category": "AmlOnlineEndpointTrafficLog", "enabled": True}],
        "metrics": [{"category": "AllMetrics", "enabled": True}],
    }
    assert api.puts[1][2]["logs"] == [] and api.puts[1][2]["metrics"] == [
        {"category": "AllMetrics", "enabled": True}
    ]

    assert _run(api) == exit_codes.SUCCESS
    assert len(api.puts) == 3, "idempotent: the settings already send everything"
    assert "already sends" in caplog.text


def test_a_category_another_setting_already_sends_there_is_not_sent_twice():
    """Azure refuses a second setting with the same category and destination: send only what is missing."""
    other = _setting("portal-made", LAW.upper(), ["AmlOnlineEndpointTrafficLog"], [])
    target = endpoint_diagnostics.targets(ENDPOINT_ID, [])[0]

    body = endpoint_diagnostics.plan([other], target, LAW)

    assert body == {"workspaceId": LAW, "logs": [], "metrics": [{"category": "AllMetrics", "enabled": True}]}
    covering = _setting("everything", LAW, [], ["AllMetrics"], group="allLogs")
    assert endpoint_diagnostics.plan([covering], target, LAW) is None
    elsewhere = _setting(
        "archive", LAW.replace("log-mlops-dev", "log-archive"), ["AmlOnlineEndpointTrafficLog"], []
    )
    assert endpoint_diagnostics.plan([elsewhere], target, LAW)["logs"] == [
        {"category": "AmlOnlineEndpointTrafficLog", "enabled": True}
    ]


def test_a_stale_own_setting_is_replaced():
    stale = _setting("azure-mlops-alerts", LAW.replace("log-mlops-dev", "log-old"), [], ["AllMetrics"])
    api = FakeDiagnostics([], {ENDPOINT_ID: [stale]})

    assert _run(api) == exit_codes.SUCCESS
    ((resource, name, body),) = api.puts
    assert (resource, name, body["workspaceId"]) == (ENDPOINT_ID, "azure-mlops-alerts", LAW)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "$(AML_LOG_ANALYTICS_WORKSPACE_ID)",
            "unexpanded pipeline variable: define it in the variable group",
        ),
        (
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
            "OperationalInsights",
        ),
    ],
)
def test_a_missing_or_wrong_workspace_id_fails_before_any_call(value, message, capsys):
    api = FakeDiagnostics(["blue"])
    argv = [*WORKSPACE_ARGS, "--endpoint", "churn-online", "--log-analytics-workspace-id", value]
    with pytest.raises(SystemExit) as exit_info:
        endpoint_diagnostics.main(argv, api=api)
    assert exit_info.value.code == exit_codes.USAGE
    assert message in capsys.readouterr().err
    assert api.puts == []


class _Arm:
    """Stands in for azure-core's PipelineClient: records requests, answers with canned responses."""

    def __init__(self, *responses: Any) -> None:
        self.responses = list(responses)
        self.requests: list[Any] = []

    def send_request(self, request: Any) -> Any:
        self.requests.append(request)
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        text = "" if answer is None else json.dumps(answer)
        return SimpleNamespace(raise_for_status=lambda: None, text=lambda: text, json=lambda: answer)


def _client(arm: _Arm, deployments: list[str] | None = None) -> AzureMlClient:
    client = AzureMlClient(subscription_id="s", resource_group="r", workspace="w")
    client.__dict__["_arm"] = arm
    deployment_list = [SimpleNamespace(name=name) for name in deployments or []]
    client.__dict__["_ml"] = SimpleNamespace(
        online_deployments=SimpleNamespace(list=lambda endpoint: deployment_list)
    )
    return client


def test_the_adapter_speaks_the_arm_diagnostic_settings_api():
    arm = _Arm({"value": [{"name": "x", "properties": {}}]}, {"name": "azure-mlops-alerts"})
    client = _client(arm, ["green", "blue"])

    assert client.online_deployment_names("churn-online") == ["blue", "green"]
    assert client.diagnostic_settings(ENDPOINT_ID) == [{"name": "x", "properties": {}}]
    client.put_diagnostic_setting(
        ENDPOINT_ID, "azure-mlops-alerts", {"workspaceId": LAW, "logs": [], "metrics": []}
    )

    get, put = arm.requests
    base = f"https://management.azure.com{ENDPOINT_ID}/providers/Microsoft.Insights/diagnosticSettings"
    assert (get.method, get.url) == ("GET", f"{base}?api-version={DIAGNOSTIC_SETTINGS_API_VERSION}")
    assert (put.method, put.url) == (
        "PUT",
        f"{base}/azure-mlops-alerts?api-version={DIAGNOSTIC_SETTINGS_API_VERSION}",
    )
    assert json.loads(put.content) == {"properties": {"workspaceId": LAW, "logs": [], "metrics": []}}


@pytest.mark.parametrize(("status", "expected"), [(403, DeploymentError), (429, TransientAzureError)])
def test_arm_errors_become_the_scripts_errors(status, expected):
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    with pytest.raises(expected, match=f"GET {ENDPOINT_ID}/providers/Microsoft.Insights/diagnosticSettings"):
        _client(_Arm(error)).diagnostic_settings(ENDPOINT_ID)
    assert status in (403, 429)
