"""Fixtures for the lifecycle event handler: the documented payloads and a faked Azure boundary."""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401 (a hook, applied to this folder)

APP = Path(__file__).resolve().parents[2] / "functions" / "lifecycle_events"
# The Functions host runs function_app.py with the app folder on sys.path; tests import it the same way.
sys.path.insert(0, str(APP))

from lifecycle_handler.audit import COMPLETED, PENDING, AuditRecord  # noqa: E402
from lifecycle_handler.handler import Dependencies  # noqa: E402
from lifecycle_handler.outbound import DevOpsTarget, OutboundRequest  # noqa: E402
from lifecycle_handler.settings import Settings  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTED_TOPIC = (
    "/subscriptions/{subscription-id}/resourceGroups/{resource-group-name}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{workspace-name}"
)
WEBHOOK = "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"
DEVOPS = DevOpsTarget(organization="contoso", project="ML Platform", pipeline_id=42)


def load(name: str) -> dict[str, Any]:
    """The single event of a fixture file (a fresh copy)."""
    (event,) = json.loads((FIXTURES / name).read_text())
    return copy.deepcopy(event)


@dataclass
class FakeAuditStore:
    """The audit table, in memory, with the same create-if-absent semantics."""

    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def create_if_absent(self, record: AuditRecord) -> bool:
        key = (record.partition_key, record.row_key)
        if key in self.records:
            return False
        self.records[key] = record.entity()
        return True

    def status_of(self, partition_key: str, row_key: str) -> str:
        return str(self.records[(partition_key, row_key)].get("Status", PENDING))

    def complete(self, record: AuditRecord, outcome: str) -> None:
        self.records[(record.partition_key, record.row_key)] |= {"Status": COMPLETED, "Outcome": outcome}


@dataclass
class FakeSender:
    """Records every request; answers Azure DevOps like the Runs API does, or fails when told to."""

    sent: list[OutboundRequest] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(self, request: OutboundRequest) -> dict[str, Any]:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(request)
        if "dev.azure.com" in request.url:
            return {
                "id": 1234,
                "state": "inProgress",
                "_links": {"web": {"href": "https://dev.azure.com/contoso/_build/results?buildId=1234"}},
            }
        return {}


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

    @property
    def deps(self) -> Dependencies:
        return Dependencies(audit=self.audit, send=self.sender, token=self.token)


@pytest.fixture
def boundary() -> Boundary:
    return Boundary(FakeAuditStore(), FakeSender(), FakeToken())


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
