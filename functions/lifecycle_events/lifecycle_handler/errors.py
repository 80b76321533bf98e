"""Exceptions of the lifecycle event handler: one base class, names that state the condition."""

from __future__ import annotations


class LifecycleHandlerError(Exception):
    """Base class of the handler's errors: the adapter catches this, not Exception."""


class InvalidEvent(LifecycleHandlerError):
    """Raised when a queue message is not a JSON event object, or the event is malformed, of a type the
    handler does not subscribe to, or from another topic."""

    def __init__(self, message: str, *, event_id: str = "") -> None:
        super().__init__(message)
        self.event_id = event_id


class InvalidSettings(LifecycleHandlerError):
    """Raised when an app setting is missing or malformed; the message names the setting and the rule."""


class ActionFailed(LifecycleHandlerError):
    """Raised when Azure DevOps, the webhook or the audit store refuses a request.

    The function re-raises it, so the Functions host retries the queue message, then moves it to the
    poison queue.
    """


class EventInProgress(LifecycleHandlerError):
    """Raised when another delivery of the same event holds its audit record's claim (it is PENDING and was
    claimed less than CLAIM_TIMEOUT ago), or won the race to take over an abandoned one.

    Not a failure: acting now could duplicate the other attempt's requests. The function re-raises it, so
    the host retries the message after visibilityTimeout, when the record is completed (the retry is then a
    duplicate) or its claim has expired (the retry takes it over).
    """

    def __init__(self, message: str, *, event_id: str) -> None:
        super().__init__(message)
        self.event_id = event_id
