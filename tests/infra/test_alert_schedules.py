"""Alert windows and evaluation frequencies: only the values Azure Monitor accepts, checked before deployment."""

from __future__ import annotations

import dataclasses

import pytest

from infra.alert_schedules import SCHEDULE_RULES, AlertKind, check_schedule, minutes
from infra.components import alerts
from infra.errors import InvalidAlertSchedule
from infra.plan.engine import Plan

METRIC_WINDOWS = {"PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"}
METRIC_FREQUENCIES = {"PT1M", "PT5M", "PT15M", "PT30M", "PT1H"}


def test_metric_alerts_accept_only_azures_windows_and_frequencies() -> None:
    """Metric alerts: windowSize one of PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D; evaluationFrequency
    one of PT1M, PT5M, PT15M, PT30M, PT1H, and no longer than the window.

    https://learn.microsoft.com/en-us/azure/azure-monitor/alerts/resource-manager-alerts-metric
    """
    rule = SCHEDULE_RULES[AlertKind.METRIC]
    assert set(rule.windows) == METRIC_WINDOWS
    assert set(rule.frequencies) == METRIC_FREQUENCIES
    check_schedule("ok", AlertKind.METRIC, "PT6H", "PT1H")
    with pytest.raises(InvalidAlertSchedule) as raised:
        check_schedule("alert-mlops-dev-lifecycle-inbox", AlertKind.METRIC, "PT3H", "PT1H")
    message = str(raised.value)
    assert "alert-mlops-dev-lifecycle-inbox" in message
    assert "windowSize = 'PT3H'" in message
    assert "PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D" in message
    with pytest.raises(
        InvalidAlertSchedule, match=r"evaluationFrequency = 'PT6H'.*PT1M, PT5M, PT15M, PT30M, PT1H"
    ):
        check_schedule("a", AlertKind.METRIC, "PT6H", "PT6H")
    with pytest.raises(InvalidAlertSchedule, match=r"evaluationFrequency = 'PT1H': must not be longer than"):
        check_schedule("a", AlertKind.METRIC, "PT15M", "PT1H")


def test_log_search_alerts_have_their_own_set() -> None:
    """Log search alerts (scheduledQueryRules) accept windows from one minute to two days, PT3H included,
    and frequencies up to an hour, no longer than the window; P1D is a window, not a frequency.

    https://learn.microsoft.com/en-us/azure/azure-monitor/learn/tutorial-response
    """
    rule = SCHEDULE_RULES[AlertKind.LOG]
    assert "PT3H" in rule.windows and "PT12H" not in rule.windows
    assert set(rule.frequencies) == METRIC_FREQUENCIES | {"PT10M", "PT45M"}
    check_schedule("ok", AlertKind.LOG, "PT3H", "PT1H")
    check_schedule("ok", AlertKind.LOG, "P2D", "PT45M")
    with pytest.raises(InvalidAlertSchedule, match=r"windowSize = 'PT12H': a log search alert"):
        check_schedule("a", AlertKind.LOG, "PT12H", "PT1H")
    with pytest.raises(InvalidAlertSchedule, match=r"evaluationFrequency = 'P1D'"):
        check_schedule("a", AlertKind.LOG, "P1D", "P1D")
    with pytest.raises(InvalidAlertSchedule, match="must not be longer than windowSize = 'PT10M'"):
        check_schedule("a", AlertKind.LOG, "PT10M", "PT15M")


def test_durations_compare_by_length() -> None:
    durations = ("PT1M", "PT45M", "PT1H", "PT1H30M", "P1D", "P2D")
    assert [minutes(d) for d in durations] == [1, 45, 60, 90, 1440, 2880]
    for bad in ("P", "PT", "1H", "PT1S", "P1W"):
        with pytest.raises(ValueError, match="ISO 8601"):
            minutes(bad)


def test_every_alert_of_every_stack_has_a_schedule_azure_accepts(plan: Plan) -> None:
    """What each stack would send: every metric and log search alert's windowSize and evaluationFrequency.

    https://learn.microsoft.com/en-us/azure/azure-monitor/alerts/resource-manager-alerts-metric
    """
    kinds = {
        "azure-native:monitor:MetricAlert": AlertKind.METRIC,
        "azure-native:monitor:ScheduledQueryRule": AlertKind.LOG,
    }
    checked = []
    for token, kind in kinds.items():
        for rule in plan.of_type(token):
            name = rule.inputs["ruleName"]
            check_schedule(name, kind, rule.inputs["windowSize"], rule.inputs["evaluationFrequency"])
            checked.append(name)
    # Alerts exist where the stack has an action group (alertEmails): three compute rules, the lifecycle inbox,
    # four endpoint rules.
    assert len(checked) == (8 if plan.of_type("azure-native:monitor:ActionGroup") else 0), plan.stack


def test_a_rule_azure_would_refuse_cannot_be_built() -> None:
    """PT3H, the inbox alert's former window, is no metric alert window: the rule fails at construction (the
    module's import), before the program declares anything; the error names the rule, the field and the set."""
    with pytest.raises(InvalidAlertSchedule) as raised:
        dataclasses.replace(alerts.INBOX_RULE, window="PT3H")
    assert "alert 'lifecycle-inbox'" in str(raised.value)
    assert "windowSize = 'PT3H': a metric alert" in str(raised.value)
    with pytest.raises(InvalidAlertSchedule, match=r"alert 'endpoint-5xx'(.|\n)*windowSize = 'PT12H'"):
        dataclasses.replace(alerts.LOG_RULES["endpoint-5xx"], window="PT12H")
    assert (alerts.INBOX_RULE.window, alerts.INBOX_RULE.frequency) == ("PT6H", "PT1H")
