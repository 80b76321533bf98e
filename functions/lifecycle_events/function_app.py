"""Azure Functions (Python v2) entry point: binds the Event Grid trigger to the handler, nothing more.

The Azure SDK clients are created once per worker, lazily, from the app settings; the logic lives in
lifecycle_handler and is tested without Azure.
"""

from __future__ import annotations

import logging
import os
from functools import cache

import azure.functions as func
from lifecycle_handler.audit import TableAuditStore
from lifecycle_handler.errors import ActionFailed, InvalidSettings
from lifecycle_handler.handler import Dependencies, Outcome, handle
from lifecycle_handler.outbound import send
from lifecycle_handler.settings import Settings

app = func.FunctionApp()
logger = logging.getLogger("lifecycle_handler")


@cache
def _runtime() -> tuple[Settings, Dependencies]:
    from azure.identity import ManagedIdentityCredential

    settings = Settings.from_environment(os.environ)
    credential = ManagedIdentityCredential()
    audit = TableAuditStore(settings.audit_table_endpoint, settings.audit_table_name, credential)
    return settings, Dependencies(
        audit=audit, send=send, token=lambda scope: credential.get_token(scope).token
    )


def event_payload(event: func.EventGridEvent) -> dict[str, object]:
    """The Event Grid schema dict the handler validates, rebuilt from the trigger's binding object."""
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": event.event_time.isoformat() if event.event_time else None,
        "dataVersion": event.data_version,
        "data": event.get_json(),
    }


@app.function_name(name="on_lifecycle_event")
@app.event_grid_trigger(arg_name="event")
def on_lifecycle_event(event: func.EventGridEvent) -> None:
    """Handle one lifecycle event; raising makes Event Grid retry it (then dead-letter it)."""
    try:
        settings, deps = _runtime()
    except InvalidSettings:
        logger.exception("lifecycle handler misconfigured; event %s will be retried", event.id)
        raise
    try:
        outcome: Outcome = handle(event_payload(event), settings, deps)
    except ActionFailed:
        logger.exception("lifecycle event %s: an action failed; Event Grid will redeliver it", event.id)
        raise
    logger.info("lifecycle event %s: %s %s", outcome.event_id, outcome.status, outcome.detail)
