"""Azure Functions (Python v2) entry point: binds the storage queue trigger to the handler, nothing more.

Event Grid (Event Grid schema) writes each lifecycle event as one message into the storage queue named by
the app setting LIFECYCLE_QUEUE_NAME; the function reads it with the app's managed identity through the
identity-based connection LIFECYCLE_QUEUE (LIFECYCLE_QUEUE__queueServiceUri, no keys). Queue delivery,
rather than an Event Grid trigger, lets the subscription be created before the code is published and needs
no public inbound endpoint. infra/components/lifecycle_events.py names the function, the queue, its poison
queue and both settings; tests/functions/test_function_app_adapter.py checks that the literals below agree.

host.json sets the queue trigger's retries (extensions.queues):
- messageEncoding base64: Event Grid writes the event base64-encoded; the host decodes it, so the message
  body is the event's JSON.
- A normal return deletes the message, including an event the handler rejects (retrying it would fail
  the same way) and one whose notification failed (notifications are best effort, audited). Raising
  (ActionFailed from Azure DevOps or the audit table, or any other error) makes the message
  visible again after visibilityTimeout (10 minutes); after maxDequeueCount (10) attempts the host moves it
  to the poison queue (<queue>-poison). A refused retraining request is therefore retried for about 90
  minutes, long enough to ride out a short Azure DevOps outage, before the message needs an operator; each
  retry does only what the audit record says is not done yet, so the run is queued once.
- batchSize 1 and newBatchThreshold 0: one message at a time per instance. That does not serialise an
  event's deliveries: Flex Consumption scales queue triggers per message, so the breach both subscriptions
  deliver (two messages, one event ID) can run on two instances at once. The audit record's claim settles
  it (lifecycle_handler.audit): the delivery that finds the event claimed less than CLAIM_TIMEOUT
  (= visibilityTimeout) ago raises EventInProgress, logged here as one WARNING line without a stack, and
  re-raised so the host retries the message after visibilityTimeout; the retry then finds the event
  completed (a duplicate) or its attempt abandoned (and takes it over).

The app settings are checked when the host loads the app: the Python v2 model indexes the functions by
importing this module, so an invalid setting raises InvalidSettings here, naming every bad setting and its
rule, and no function is indexed, rather than each queue message failing later with the same complaint. The
Azure SDK clients are created once per worker, lazily; the logic lives in lifecycle_handler and is tested
without Azure.
"""

from __future__ import annotations

import logging
import os
from functools import cache

import azure.functions as func
from lifecycle_handler.audit import TableAuditStore
from lifecycle_handler.errors import ActionFailed, EventInProgress
from lifecycle_handler.handler import Dependencies, Outcome, handle
from lifecycle_handler.outbound import send
from lifecycle_handler.settings import Settings

logger = logging.getLogger("lifecycle_handler")
# Raises InvalidSettings while the host loads the app; nothing below is registered then.
SETTINGS = Settings.from_environment(os.environ)
app = func.FunctionApp()


@cache
def _runtime() -> tuple[Settings, Dependencies]:
    from azure.identity import ManagedIdentityCredential

    credential = ManagedIdentityCredential()
    audit = TableAuditStore.connect(SETTINGS.audit_table_endpoint, SETTINGS.audit_table_name, credential)
    return SETTINGS, Dependencies(
        audit=audit, send=send, token=lambda scope: credential.get_token(scope).token
    )


@app.function_name(name="on_lifecycle_event")
@app.queue_trigger(arg_name="message", queue_name="%LIFECYCLE_QUEUE_NAME%", connection="LIFECYCLE_QUEUE")
def on_lifecycle_event(message: func.QueueMessage) -> None:
    """Handle one queued lifecycle event; raising makes the host retry the message (then poison it)."""
    attempt = message.dequeue_count
    logger.info("lifecycle queue message %s received (attempt %s)", message.id, attempt)
    settings, deps = _runtime()
    try:
        outcome: Outcome = handle(message.get_body(), settings, deps)
    except EventInProgress as busy:
        # Expected under concurrent delivery, not an error: one line, no stack; raising makes the host retry.
        logger.warning(
            "lifecycle event %s (message %s, attempt %s) in progress elsewhere: %s; the host retries it later",
            busy.event_id,
            message.id,
            attempt,
            busy,
        )
        raise
    except ActionFailed:
        logger.exception(
            "lifecycle queue message %s (attempt %s): an action failed; the host retries it, then poisons it",
            message.id,
            attempt,
        )
        raise
    logger.info(
        "lifecycle event %s (message %s, attempt %s): %s %s",
        outcome.event_id or "(none)",
        message.id,
        attempt,
        outcome.status,
        outcome.detail,
    )
