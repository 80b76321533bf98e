"""Exceptions raised by the infrastructure code."""


class AzureMlopsError(Exception):
    """Base class for this repository's errors: callers catch this, not Exception."""


class InvalidStackConfig(AzureMlopsError):
    """Raised when a stack config value is missing, malformed or out of range.

    The message names every offending key, its value and the rule it breaks, one per line.
    """


class InvalidResourceName(AzureMlopsError):
    """Raised when no name that satisfies a resource type's Azure naming rule can be derived."""


class PlanError(AzureMlopsError):
    """Raised when the offline plan cannot run the program under the mock engine."""


class InvalidAlertSchedule(AzureMlopsError):
    """Raised when an alert rule's window or evaluation frequency is one Azure Monitor refuses.

    The message names the alert, the field, its value and the values that kind of alert accepts.
    """


class RefusedStackChange(AzureMlopsError):
    """Raised when the configuration asks Azure for a change to a deployed resource that Azure refuses.

    The message names the key, the deployed and the requested value, and the Microsoft page stating the rule.
    """
