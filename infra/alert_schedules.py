"""The evaluation schedules Azure Monitor accepts: every alert's window and frequency, checked before it exists.

The ARM schemas type `windowSize` and `evaluationFrequency` only as "duration", so a value Azure refuses (a
metric alert over PT3H, say) passes every schema and fails `pulumi up`. Metric alerts and log search alerts
accept different sets (Microsoft's Resource Manager samples for each list them as allowed values), and both
must be evaluated no less often than their window spans. Values are ISO 8601 durations exactly as ARM takes
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from infra.errors import InvalidAlertSchedule


class AlertKind(StrEnum):
    """The two kinds of alert rule the stack declares, with different schedule rules."""

    METRIC = "metric alert (Microsoft.Insights/metricAlerts)"
    LOG = "log search alert (Microsoft.Insights/scheduledQueryRules)"


@dataclass(frozen=True)
class ScheduleRule:
    """What one kind of alert accepts."""

    windows: tuple[str, ...]
    """Allowed windowSize values."""
    frequencies: tuple[str, ...]
    """Allowed evaluationFrequency values."""


SCHEDULE_RULES: dict[AlertKind, ScheduleRule] = {
    # https://learn.microsoft.com/en-us/azure/azure-monitor/alerts/resource-manager-alerts-metric
    AlertKind.METRIC: ScheduleRule(
        windows=("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"),
        frequencies=("PT1M", "PT5M", "PT15M", "PT30M", "PT1H"),
    ),
    # https://learn.microsoft.com/en-us/azure/azure-monitor/learn/tutorial-response (aggregation
    # granularity and frequency of evaluation), as the log alert Resource Manager samples allow them.
    AlertKind.LOG: ScheduleRule(
        windows=(
            "PT1M",
            "PT5M",
            "PT10M",
            "PT15M",
            "PT30M",
            "PT45M",
            "PT1H",
            "PT2H",
            "PT3H",
            "PT4H",
            "PT5H",
            "PT6H",
            "P1D",
            "P2D",
        ),
        frequencies=("PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M", "PT1H"),
    ),
}

_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)?$")


def minutes(duration: str) -> int:
    """Minutes in an ISO 8601 duration of days, hours and minutes (P1D, PT1H30M); ValueError otherwise."""
    match = _DURATION.match(duration)
    if match is None or duration in {"P", "PT"}:
        msg = f"{duration!r} is not an ISO 8601 duration of days, hours and minutes"
        raise ValueError(msg)
    days, hours, mins = (int(match[g] or 0) for g in ("d", "h", "m"))
    return (days * 24 + hours) * 60 + mins


def check_schedule(alert: str, kind: AlertKind, window: str, frequency: str) -> None:
    """Raise InvalidAlertSchedule, naming the alert, the field and what Azure accepts, for a schedule Azure
    refuses: a window or frequency outside the kind's allowed values, or a frequency longer than the window."""
    rule = SCHEDULE_RULES[kind]
    problems = []
    if window not in rule.windows:
        problems.append(f"windowSize = {window!r}: a {kind} accepts one of {', '.join(rule.windows)}")
    if frequency not in rule.frequencies:
        problems.append(
            f"evaluationFrequency = {frequency!r}: a {kind} accepts one of {', '.join(rule.frequencies)}"
        )
    if not problems and minutes(frequency) > minutes(window):
        problems.append(
            f"evaluationFrequency = {frequency!r}: must not be longer than windowSize = {window!r}; a {kind} "
            "is evaluated at least once per window"
        )
    if problems:
        msg = f"alert {alert!r}:\n" + "\n".join(f"  {p}" for p in problems)
        raise InvalidAlertSchedule(msg)
