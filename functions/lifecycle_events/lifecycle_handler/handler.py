"""Handle one delivered event: decode, validate, claim it in the audit store, act, and report what was done.

Event Grid writes each event as one message into a storage queue, and the queue-triggered function hands
the message's body here. Both deliver at least once, and a monitor breach matches two subscriptions, so the
same event (same ID) can arrive twice at nearly the same moment, on two instances. Idempotency rests on the
audit record, keyed by the event ID, which is also a lease (lifecycle_handler.audit):

1. The record is created first (create-if-absent), PENDING and claimed now; the delivery that creates it acts.
2. A delivery that finds it COMPLETED stops: a duplicate, logged and acknowledged.
3. A delivery that finds it PENDING and claimed less than CLAIM_TIMEOUT ago does not act: it raises
   EventInProgress, the message returns to the queue and is retried after visibilityTimeout, by when the
   first attempt has completed (2.) or been abandoned (4.).
4. A PENDING record claimed longer ago is an abandoned attempt (a crash, or an action that failed): the
   delivery re-claims it, conditionally on the version it read, so of two takers only one acts (the other
   raises EventInProgress), and retries the actions.

If an action fails the record stays pending and the exception leaves the message on the queue: the Functions
host retries it (then moves it to the poison queue), and the retry, finding the claim expired, repeats only
the actions. A message that cannot be decoded or validated is rejected and acknowledged: a retry would fail
the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lifecycle_handler.audit import CLAIM_TIMEOUT, COMPLETED, AuditRecord, AuditStore
from lifecycle_handler.decisions import Action, Decision, decide
from lifecycle_handler.errors import EventInProgress, InvalidEvent
from lifecycle_handler.events import parse_event
from lifecycle_handler.outbound import (
    AZURE_DEVOPS_SCOPE,
    OutboundRequest,
    Sender,
    TokenProvider,
    notification_request,
    retrain_request,
)
from lifecycle_handler.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What the handler did with one event; `requests` lists what was sent, or would be in a dry run."""

    event_id: str
    status: str
    """rejected, duplicate, handled or dry-run."""
    decision: Decision | None = None
    requests: tuple[OutboundRequest, ...] = ()
    detail: str = ""
    run: dict[str, Any] = field(default_factory=dict)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Dependencies:
    """The boundary: the audit store, the HTTP sender, the token provider and the clock (aware UTC)."""

    audit: AuditStore
    send: Sender
    token: TokenProvider
    now: Callable[[], datetime] = utc_now


def handle(raw: Any, settings: Settings, deps: Dependencies) -> Outcome:
    """Process one event end to end: the queue message body (UTF-8 JSON bytes or text) or a decoded dict."""
    try:
        event = parse_event(raw, expected_topic=settings.workspace_id)
    except InvalidEvent as err:
        # One line, no action: retrying a malformed message would fail the same way, so it is acknowledged
        # (a normal return deletes it from the queue).
        logger.warning("lifecycle event rejected id=%s: %s", err.event_id or "(none)", err)
        return Outcome(err.event_id, "rejected", detail=str(err))

    decision = decide(event)
    now = deps.now()
    record = AuditRecord.of(event, decision, claimed_at=now)
    if not deps.audit.create_if_absent(record):
        claim = deps.audit.read_claim(record.partition_key, record.row_key)
        if claim.status == COMPLETED:
            logger.info("lifecycle event duplicate id=%s: already handled, skipped", record.row_key)
            return Outcome(record.row_key, "duplicate", decision)
        if claim.is_held(now):
            msg = (
                f"another delivery claimed this event at {_iso(claim.claimed_at)} and may still be acting; "
                f"not acting now (its claim holds for {CLAIM_TIMEOUT})"
            )
            logger.info("lifecycle event in progress id=%s: %s", record.row_key, msg)
            raise EventInProgress(msg, event_id=record.row_key)
        if not deps.audit.take_over(claim, now):
            msg = "another delivery took over the abandoned attempt first; not acting now"
            logger.info("lifecycle event in progress id=%s: %s", record.row_key, msg)
            raise EventInProgress(msg, event_id=record.row_key)
        logger.info(
            "lifecycle event id=%s: the attempt claimed at %s did not complete; taken over, retrying its actions",
            record.row_key,
            _iso(claim.claimed_at),
        )

    requests = _requests(decision, record.row_key, event.envelope.subject, settings, deps)
    if settings.dry_run:
        deps.audit.complete(
            record, "dry run: " + ("; ".join(f"{r.method} {_target(r)}" for r in requests) or "no action")
        )
        logger.info(
            "lifecycle event dry-run id=%s kind=%s: %s", record.row_key, decision.kind, decision.reason
        )
        return Outcome(record.row_key, "dry-run", decision, tuple(requests))

    run: dict[str, Any] = {}
    for request in requests:
        answer = deps.send(request)
        if "dev.azure.com" in request.url:
            run = {"id": answer.get("id"), "url": answer.get("_links", {}).get("web", {}).get("href", "")}
    outcome = f"retraining run {run.get('id')} queued" if run else "audited"
    if Action.NOTIFY in decision.actions:
        outcome += (
            "; team notified" if settings.webhook_url else "; no webhook configured, notification logged"
        )
    deps.audit.complete(record, outcome)
    # The structured audit line: Application Insights keeps it beside the table record.
    logger.info(
        "lifecycle event handled id=%s kind=%s subject=%s model=%s:%s endpoint=%s run=%s commit=%s "
        "pipeline_run=%s approver=%s triggering_event=%s outcome=%s",
        record.row_key,
        record.kind,
        record.subject,
        record.model_name,
        record.model_version,
        record.endpoint,
        record.run_id,
        record.git_commit,
        record.pipeline_run,
        record.approver,
        record.triggering_event,
        outcome,
    )
    return Outcome(record.row_key, "handled", decision, tuple(requests), outcome, run)


def _requests(
    decision: Decision, event_id: str, subject: str, settings: Settings, deps: Dependencies
) -> list[OutboundRequest]:
    requests: list[OutboundRequest] = []
    if Action.RETRAIN in decision.actions:
        if settings.devops is None:
            logger.warning(
                "lifecycle event id=%s: breach, but no retraining pipeline is configured", event_id
            )
        else:
            # A dry run never asks for a token: it must not need Azure DevOps at all.
            token = "<dry-run>" if settings.dry_run else deps.token(AZURE_DEVOPS_SCOPE)
            requests.append(
                retrain_request(
                    settings.devops, model_name=decision.model_name, event_id=event_id, token=token
                )
            )
    if Action.NOTIFY in decision.actions and settings.webhook_url:
        lines = [decision.reason, f"Event: {event_id}", f"Subject: {subject}"]
        if settings.devops is not None and Action.RETRAIN in decision.actions:
            lines.append(
                f"Retraining queued: pipeline {settings.devops.pipeline_id} in {settings.devops.project}"
            )
        title = (
            "Model monitor threshold breached"
            if Action.RETRAIN in decision.actions
            else "Azure ML run failed"
        )
        requests.append(notification_request(settings.webhook_url, title=title, lines=lines))
    return requests


def _target(request: OutboundRequest) -> str:
    return request.url.split("?")[0] if "dev.azure.com" in request.url else "notification webhook"


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "(unknown)"
