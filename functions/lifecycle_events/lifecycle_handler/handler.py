"""Handle one delivered event: decode, validate, claim it in the audit store, act, and report what was done.

Event Grid writes each event as one message into a storage queue, and the queue-triggered function hands
the message's body here. Both deliver at least once, and a monitor breach matches two subscriptions, so the
same event (same ID) can arrive twice at nearly the same moment, on two instances. Idempotency rests on the
audit record, keyed by the event ID, which is also a lease (lifecycle_handler.audit):

1. The record is created first (create-if-absent), PENDING and claimed now; the delivery that creates it acts.
2. A delivery that finds it COMPLETED stops: a duplicate, logged and acknowledged. So does one whose content
   differs from the record's (same ID, other content): deduplication is by event ID alone.
3. A delivery that finds it PENDING and claimed less than CLAIM_TIMEOUT ago does not act: it raises
   EventInProgress, the message returns to the queue and is retried after visibilityTimeout, by when the
   first attempt has completed (2.) or been abandoned (4.).
4. A PENDING record claimed longer ago is an abandoned attempt (a crash, or an action that failed): the
   delivery re-claims it, conditionally on the version it read, so of two takers only one acts (the other
   raises EventInProgress), and retries the actions.

Actions run in order, each recorded as soon as it is done: the retraining run (RetrainRun) before the
notification, which is best effort (a refusing webhook is audited, not retried) and sent once (Notification).
If queuing the run fails, the record stays pending and the exception leaves the message on the queue: the
Functions host retries it (then moves it to the poison queue), and the retry, finding the claim expired, does
only what the record says is not yet done, so one breach queues one run and notifies once. A message that cannot be decoded or validated is rejected and acknowledged: a retry would fail
the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lifecycle_handler.audit import CLAIM_TIMEOUT, COMPLETED, AuditRecord, AuditStore, StoredClaim
from lifecycle_handler.decisions import Action, Decision, decide
from lifecycle_handler.errors import ActionFailed, EventInProgress, InvalidEvent
from lifecycle_handler.events import parse_event
from lifecycle_handler.notify import describe_answer, notification_request
from lifecycle_handler.outbound import (
    AZURE_DEVOPS_SCOPE,
    OutboundRequest,
    Sender,
    TokenProvider,
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
    progress: StoredClaim | None = None
    if not deps.audit.create_if_absent(record):
        claim = deps.audit.read_claim(record.partition_key, record.row_key)
        if claim.content_hash and claim.content_hash != record.content_hash:
            # Deduplication is by ID: whatever else this copy says, the event was (or is being) handled once.
            # Acting on this copy could queue a second run for another model: it is acknowledged, not acted on.
            logger.warning("lifecycle event duplicate id=%s: %s", record.row_key, CONFLICTING)
            return Outcome(record.row_key, "duplicate", decision, detail=CONFLICTING)
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
            "lifecycle event id=%s: the attempt claimed at %s did not complete; taken over, retrying what it "
            "had not done",
            record.row_key,
            _iso(claim.claimed_at),
        )
        progress = claim

    if settings.dry_run:
        would = (_retrain(decision, record, settings, deps), _notification(decision, record, settings))
        requests = [request for request in would if request is not None]
        deps.audit.complete(
            record, "dry run: " + ("; ".join(f"{r.method} {_target(r)}" for r in requests) or "no action")
        )
        logger.info(
            "lifecycle event dry-run id=%s kind=%s: %s", record.row_key, decision.kind, decision.reason
        )
        return Outcome(record.row_key, "dry-run", decision, tuple(requests))

    attempt = _Attempt(decision, record, settings, deps, progress)
    run = _queue_retraining(attempt)
    notified = _notify(attempt)
    sent = attempt.sent
    outcome = "; ".join(part for part in (_run_outcome(run) or "audited", notified) if part)
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
    return Outcome(record.row_key, "handled", decision, tuple(sent), outcome, run)


CONFLICTING = (
    "same event ID, other content: ignored (deduplication is by event ID; the record keeps the first)"
)


def _run_outcome(run: dict[str, Any]) -> str:
    return f"retraining run {run.get('id')} queued" if run else ""


def _retrain(
    decision: Decision, record: AuditRecord, settings: Settings, deps: Dependencies
) -> OutboundRequest | None:
    if Action.RETRAIN not in decision.actions:
        return None
    if settings.devops is None:
        logger.warning(
            "lifecycle event id=%s: breach, but no retraining pipeline is configured", record.row_key
        )
        return None
    # A dry run never asks for a token: it must not need Azure DevOps at all.
    token = "<dry-run>" if settings.dry_run else deps.token(AZURE_DEVOPS_SCOPE)
    return retrain_request(
        settings.devops, model_name=decision.model_name, event_id=record.row_key, token=token
    )


@dataclass
class _Attempt:
    """One delivery acting on a claimed event: what it knows, what an earlier attempt did, what it sent."""

    decision: Decision
    record: AuditRecord
    settings: Settings
    deps: Dependencies
    progress: StoredClaim | None
    """The record as an earlier, abandoned attempt left it (None for the first attempt)."""
    sent: list[OutboundRequest] = field(default_factory=list)


def _queue_retraining(attempt: _Attempt) -> dict[str, Any]:
    """Queue the run once per event: an earlier attempt's run (recorded) is never queued again. A refusal raises
    ActionFailed, so the host retries the message; nothing was queued then."""
    decision, record, settings, deps, progress = (
        attempt.decision, attempt.record, attempt.settings, attempt.deps, attempt.progress
    )  # fmt: skip
    if progress is not None and progress.retrain_run:
        logger.info(
            "lifecycle event id=%s: retraining run %s was queued by an earlier attempt; not queued again",
            record.row_key,
            progress.retrain_run,
        )
        return {"id": progress.retrain_run, "url": progress.retrain_run_url}
    request = _retrain(decision, record, settings, deps)
    if request is None:
        return {}
    answer = deps.send(request)
    attempt.sent.append(request)
    run = {"id": answer.body.get("id"), "url": answer.body.get("_links", {}).get("web", {}).get("href", "")}
    # Recorded before anything else can fail: a retry (of a failed notification, a crash) sees it.
    deps.audit.record_action(record, {"RetrainRun": str(run["id"]), "RetrainRunUrl": str(run["url"] or "")})
    return run


def _notification(decision: Decision, record: AuditRecord, settings: Settings) -> OutboundRequest | None:
    if Action.NOTIFY not in decision.actions or not settings.webhook_url:
        return None
    facts = [("Event", record.row_key), ("Subject", record.subject)]
    if decision.model_name:
        facts.append(("Model", decision.model_name))
    if settings.devops is not None and Action.RETRAIN in decision.actions:
        facts.append(("Retraining", f"pipeline {settings.devops.pipeline_id} in {settings.devops.project}"))
    return notification_request(
        settings.webhook_url, title=decision.title, reason=decision.reason, facts=facts
    )


def _notify(attempt: _Attempt) -> str:
    """Notify once, best effort: a webhook that refuses is audited and logged, never retried (a retry of the
    message would repeat what already succeeded); an earlier attempt's notification is not sent again."""
    decision, record, settings, deps, progress = (
        attempt.decision, attempt.record, attempt.settings, attempt.deps, attempt.progress
    )  # fmt: skip
    if Action.NOTIFY not in decision.actions:
        return ""
    if progress is not None and progress.notification:
        return f"notified earlier ({progress.notification})"
    request = _notification(decision, record, settings)
    if request is None:
        return "no webhook configured, notification logged"
    try:
        answer = deps.send(request)
    except ActionFailed as refused:
        logger.warning("lifecycle event id=%s: notification not delivered: %s", record.row_key, refused)
        note = f"notification failed: {refused}"
    else:
        attempt.sent.append(request)
        note = describe_answer(settings.webhook_url, answer.status, answer.text)
    deps.audit.record_action(record, {"Notification": note})
    return note


def _target(request: OutboundRequest) -> str:
    return request.url.split("?")[0] if "dev.azure.com" in request.url else "notification webhook"


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "(unknown)"
