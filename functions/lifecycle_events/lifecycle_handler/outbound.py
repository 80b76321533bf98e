"""Outbound requests: queue the retraining pipeline in Azure Pipelines, and post to the team's webhook.

Requests are built as plain values (URL, method, headers, JSON body) so tests can assert exactly what
would be sent; one small HTTP sender on the standard library sends them. The Azure DevOps token comes
from the function's managed identity (no PAT): Entra ID issues it for Azure DevOps' resource ID.
Notifications are built in lifecycle_handler.notify (an Adaptive Card for Teams, text for Slack).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from lifecycle_handler.errors import ActionFailed

AZURE_DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
"""Entra ID scope of Azure DevOps (its first-party application ID)."""
API_VERSION = "7.1"
_TIMEOUT_SECONDS = 20

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request the handler would send."""

    method: str
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DevOpsTarget:
    """The retraining pipeline: names and an ID, no credential."""

    organization: str
    project: str
    pipeline_id: int
    branch: str = "refs/heads/main"


def retrain_request(target: DevOpsTarget, *, model_name: str, event_id: str, token: str) -> OutboundRequest:
    """`POST .../_apis/pipelines/{id}/runs`: queue the pipeline with the model and the triggering event."""
    parameters = {"triggeringEventId": event_id}
    if model_name:
        # Without a model name the pipeline's own default applies, rather than guessing one.
        parameters["modelName"] = model_name
    url = (
        f"https://dev.azure.com/{quote(target.organization, safe='')}/{quote(target.project, safe='')}"
        f"/_apis/pipelines/{target.pipeline_id}/runs?api-version={API_VERSION}"
    )
    body = {
        "templateParameters": parameters,
        "resources": {"repositories": {"self": {"refName": target.branch}}},
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return OutboundRequest("POST", url, body, headers)


@dataclass(frozen=True)
class Answer:
    """What an endpoint answered a request: its HTTP status, its JSON body ({} when it is not JSON) and the start
    of its text (Slack answers `ok`, a Teams workflow an empty 202)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    text: str = ""


class Sender(Protocol):
    """Sends a request and returns the endpoint's Answer; raises ActionFailed on any non-2xx answer."""

    def __call__(self, request: OutboundRequest) -> Answer: ...


def send(request: OutboundRequest) -> Answer:
    """The real Sender, on urllib: TLS verified, a timeout, the error body kept for the log."""
    data = json.dumps(request.body).encode()
    http_request = urllib.request.Request(
        request.url, data=data, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(http_request, timeout=_TIMEOUT_SECONDS) as response:
            payload = response.read()
            status = int(response.status)
    except urllib.error.HTTPError as err:
        detail = err.read()[:500].decode(errors="replace")
        msg = f"{request.method} {_redacted(request.url)} answered {err.code}: {detail}"
        raise ActionFailed(msg) from err
    except (urllib.error.URLError, TimeoutError) as err:
        msg = f"{request.method} {_redacted(request.url)} failed: {err}"
        raise ActionFailed(msg) from err
    text = payload[:500].decode(errors="replace")
    try:
        body = json.loads(payload) if payload else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    return Answer(status, body if isinstance(body, dict) else {}, text)


def _redacted(url: str) -> str:
    """Webhook URLs carry their secret in the path: log only the host."""
    return url.split("/", 3)[2] if "://" in url else "(url)"


TokenProvider = Callable[[str], str]
"""Returns a bearer token for a scope (the adapter binds the managed identity)."""
