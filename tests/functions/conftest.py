"""Fixtures for the lifecycle event handler: the documented payloads and a faked Azure boundary."""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401 (a hook, applied to this folder)
from tests.support.azurite_server import Azurite, AzuriteError, start

APP = Path(__file__).resolve().parents[2] / "functions" / "lifecycle_events"
# The Functions host runs function_app.py with the app folder on sys.path; tests import it the same way.
sys.path.insert(0, str(APP))

from lifecycle_handler.audit import COMPLETED, AuditRecord, StoredClaim  # noqa: E402
from lifecycle_handler.handler import Dependencies  # noqa: E402
from lifecycle_handler.outbound import Answer, DevOpsTarget, OutboundRequest  # noqa: E402
from lifecycle_handler.settings import Settings  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTED_TOPIC = (
    "/subscriptions/{subscription-id}/resourceGroups/{resource-group-name}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{workspace-name}"
)
WEBHOOK = "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"
FUNCTION_NAME = "on_lifecycle_event"
"""The queue-triggered function in function_app.py: the name its logs and the portal show."""
DEVOPS = DevOpsTarget(organization="contoso", project="ML Platform", pipeline_id=42)


def load(name: str) -> dict[str, Any]:
    """The single event of a fixture file (a fresh copy)."""
    (event,) = json.loads((FIXTURES / name).read_text())
    return copy.deepcopy(event)


@dataclass
class FakeAuditStore:
    """The audit table, in memory, with its semantics: create-if-absent, and an ETag per stored version that
    a conditional update (If-Match) must present, as Table Storage does."""

    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    etags: dict[tuple[str, str], str] = field(default_factory=dict)
    _writes: int = 0

    def _stored(self, key: tuple[str, str], entity: dict[str, Any]) -> None:
        self._writes += 1
        self.records[key] = entity
        self.etags[key] = f"W/\"datetime'{self._writes}'\""

    def create_if_absent(self, record: AuditRecord) -> bool:
        key = (record.partition_key, record.row_key)
        if key in self.records:
            return False
        self._stored(key, record.entity())
        return True

    def read_claim(self, partition_key: str, row_key: str) -> StoredClaim:
        key = (partition_key, row_key)
        return StoredClaim.of(self.records[key], self.etags[key])

    def take_over(self, claim: StoredClaim, claimed_at: datetime) -> bool:
        key = (claim.partition_key, claim.row_key)
        if self.etags[key] != claim.etag:  # 412: changed since it was read
            return False
        self._stored(key, self.records[key] | {"ClaimedAt": claimed_at})
        return True

    def record_action(self, record: AuditRecord, values: dict[str, str]) -> None:
        key = (record.partition_key, record.row_key)
        self._stored(key, self.records[key] | dict(values))

    def complete(self, record: AuditRecord, outcome: str) -> None:
        self.record_action(record, {"Status": COMPLETED, "Outcome": outcome})


@dataclass
class FakeClock:
    """The handler's clock: a fixed UTC moment that tests move on explicitly."""

    moment: datetime = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


@dataclass
class FakeSender:
    """Records every request; answers Azure DevOps like the Runs API does and a Teams workflow with 202 (it
    accepts before it runs), or fails when told to (`fail_with`, or `fail_webhook_with` for the webhook only)."""

    sent: list[OutboundRequest] = field(default_factory=list)
    fail_with: Exception | None = None
    fail_webhook_with: Exception | None = None

    def __call__(self, request: OutboundRequest) -> Answer:
        if self.fail_with is not None:
            raise self.fail_with
        if self.fail_webhook_with is not None and "dev.azure.com" not in request.url:
            raise self.fail_webhook_with
        self.sent.append(request)
        if "dev.azure.com" in request.url:
            body = {
                "id": 1234,
                "state": "inProgress",
                "_links": {"web": {"href": "https://dev.azure.com/contoso/_build/results?buildId=1234"}},
            }
            return Answer(200, body, "")
        if "hooks.slack.com" in request.url:
            return Answer(200, {}, "ok")
        return Answer(202, {}, "")


def shown(request: OutboundRequest) -> str:
    """What a notification shows, as text: a Slack message's text, or a Teams card's text blocks and facts with
    their markdown escapes undone (tests assert on what a reader sees)."""
    if "text" in request.body:
        return str(request.body["text"])
    (attachment,) = request.body["attachments"]
    lines = []
    for element in attachment["content"]["body"]:
        if element["type"] == "TextBlock":
            lines.append(element["text"])
        for fact in element.get("facts", []):
            lines.append(f"{fact['title']}: {fact['value']}")
    return re.sub(r"\\(.)", r"\1", "\n".join(lines))


@dataclass
class FakeToken:
    scopes: list[str] = field(default_factory=list)

    def __call__(self, scope: str) -> str:
        self.scopes.append(scope)
        return "eyJ0eXAiOiJKV1QifQ.fake-managed-identity-token"


@dataclass
class Boundary:
    audit: FakeAuditStore
    sender: FakeSender
    token: FakeToken
    clock: FakeClock = field(default_factory=FakeClock)

    @property
    def deps(self) -> Dependencies:
        return Dependencies(audit=self.audit, send=self.sender, token=self.token, now=self.clock)


@pytest.fixture
def boundary() -> Boundary:
    return Boundary(FakeAuditStore(), FakeSender(), FakeToken())


APP_SETTINGS = {
    "AUDIT_TABLE_ENDPOINT": "https://staudmlopsdev.table.core.windows.net",
    "AUDIT_TABLE_NAME": "lifecycleevents",
    "WORKSPACE_RESOURCE_ID": DOCUMENTED_TOPIC,
}
"""The app settings a stack gives the function app, at their smallest (no Azure DevOps, no webhook)."""


def settings(
    *, dry_run: bool = False, devops: DevOpsTarget | None = DEVOPS, webhook: str = WEBHOOK
) -> Settings:
    return Settings(
        audit_table_endpoint="https://staudmlopsdev.table.core.windows.net",
        audit_table_name="lifecycleevents",
        workspace_id=DOCUMENTED_TOPIC,
        webhook_url=webhook,
        devops=devops,
        dry_run=dry_run,
    )


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Azurite, the Azure Storage emulator, running for the session (one per test worker), on free ports.

    Missing, it fails the tests that need it, naming `make setup-azurite`: a skipped boundary test is no test.
    """
    try:
        server = start()
    except AzuriteError as err:
        pytest.fail(str(err), pytrace=False)
    yield server
    server.stop()
