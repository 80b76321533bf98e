"""The handler's settings, read once from the app settings that infra/components/lifecycle_events.py sets.

Every setting is checked when the Functions host loads the app (function_app.py reads them at import), all at
once: one InvalidSettings names each bad setting, its value (never the webhook's, which holds a secret) and the
rule. A malformed setting would otherwise surface later and worse: a workspace ID no event can match drops every
event as foreign.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from lifecycle_handler.errors import InvalidSettings
from lifecycle_handler.events import WORKSPACE_ID
from lifecycle_handler.notify import SLACK_HOSTS, TEAMS_HOSTS, webhook_kind
from lifecycle_handler.outbound import DevOpsTarget

KEY_VAULT_REFERENCE_PREFIX = "@Microsoft.KeyVault("
"""An app setting still holding this prefix is a reference the platform could not resolve."""

TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")
"""Table names: 3-63 letters and digits, starting with a letter (Understanding the Table service data model)."""
ORGANIZATION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")
"""Azure DevOps organization: 1-50 letters, digits and hyphens, starting and ending with a letter or digit."""
PROJECT = re.compile(r"(?![_.])[^\\/:*?\"'<>;#$*{},+=\[\]|\x00-\x1f]{1,64}(?<!\.)")
"""Azure DevOps project: at most 64 characters, none of \\ / : * ? " ' < > ; # $ { } , + = [ ] | or control
characters, not starting with _ or . and not ending with . (naming-restrictions)."""
PIPELINE_ID = re.compile(r"[1-9][0-9]{0,9}")
"""A pipeline definition ID: a positive decimal number (ASCII digits only: str.isdigit also takes '²' or '٣')."""
MAX_PIPELINE_ID = 2**31 - 1


@dataclass(frozen=True)
class Settings:
    audit_table_endpoint: str
    audit_table_name: str
    workspace_id: str
    webhook_url: str
    """Empty when no webhook secret is set (or the reference did not resolve): notifications are logged."""
    devops: DevOpsTarget | None
    dry_run: bool

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        """Settings from app settings; raises InvalidSettings naming every bad setting, its value and the rule."""
        problems: list[str] = []

        def value(name: str, *, required: bool = True) -> str:
            found = str(env.get(name, "")).strip()
            if required and not found:
                problems.append(f"{name} is missing or empty")
            return found

        def check(name: str, found: str, ok: bool, rule: str) -> None:
            if found and not ok:
                problems.append(f"{name} = {found[:200]!r}: {rule}")

        endpoint = value("AUDIT_TABLE_ENDPOINT")
        check("AUDIT_TABLE_ENDPOINT", endpoint, _endpoint_ok(endpoint),
              "must be the table service's https:// URL (or a file: URI, the local demo's stand-in)")  # fmt: skip
        table = value("AUDIT_TABLE_NAME")
        check("AUDIT_TABLE_NAME", table, bool(TABLE_NAME.fullmatch(table)),
              "must be 3-63 letters and digits, starting with a letter")  # fmt: skip
        workspace = value("WORKSPACE_RESOURCE_ID")
        check("WORKSPACE_RESOURCE_ID", workspace, bool(WORKSPACE_ID.fullmatch(workspace)),
              "must be the workspace's resource ID, /subscriptions/<id>/resourceGroups/<group>/providers/"
              "Microsoft.MachineLearningServices/workspaces/<name>")  # fmt: skip
        webhook = _webhook(value("NOTIFICATION_WEBHOOK_URL", required=False), problems)
        devops = _devops(env, value, check, problems)
        dry_run = value("LIFECYCLE_DRY_RUN", required=False).lower() or "false"
        check("LIFECYCLE_DRY_RUN", dry_run, dry_run in {"true", "false"}, "must be true or false")
        if problems:
            msg = "invalid app settings: " + "; ".join(f"app setting {problem}" for problem in problems)
            raise InvalidSettings(msg)
        return cls(
            audit_table_endpoint=endpoint,
            audit_table_name=table,
            workspace_id=workspace,
            webhook_url=webhook,
            devops=devops,
            dry_run=dry_run == "true",
        )


def _endpoint_ok(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    if parts.scheme == "file":
        return bool(parts.path)
    return parts.scheme == "https" and bool(parts.hostname) and not parts.query and not parts.fragment


def _webhook(url: str, problems: list[str]) -> str:
    if not url or url.startswith(KEY_VAULT_REFERENCE_PREFIX):
        return ""  # no secret yet: notifications go to the log only
    parts = urlsplit(url)
    if parts.scheme != "https" or not webhook_kind(url):
        hosts = ", ".join(f"*{h}" for h in TEAMS_HOSTS) + ", " + ", ".join(SLACK_HOSTS)
        problems.append(
            "NOTIFICATION_WEBHOOK_URL (value not shown: it holds a secret): must be an https:// URL of a Teams "
            f"workflow or a Slack incoming webhook (hosts {hosts})"
        )
    return url


def _devops(
    env: Mapping[str, str],
    value: Callable[[str], str],
    check: Callable[[str, str, bool, str], None],
    problems: list[str],
) -> DevOpsTarget | None:
    pipeline = str(env.get("RETRAIN_PIPELINE_ID", "")).strip()
    if not pipeline:
        return None
    organization = value("AZURE_DEVOPS_ORGANIZATION")
    project = value("AZURE_DEVOPS_PROJECT")
    id_ok = bool(PIPELINE_ID.fullmatch(pipeline)) and int(pipeline) <= MAX_PIPELINE_ID
    check(
        "RETRAIN_PIPELINE_ID", pipeline, id_ok, "must be a positive pipeline definition ID (1 to 2147483647)"
    )
    check("AZURE_DEVOPS_ORGANIZATION", organization, bool(ORGANIZATION.fullmatch(organization)),
          "must be 1-50 letters, digits and hyphens, starting and ending with a letter or digit")  # fmt: skip
    check("AZURE_DEVOPS_PROJECT", project, bool(PROJECT.fullmatch(project)),
          "must be at most 64 characters, without \\ / : * ? \" ' < > ; # $ { } , + = [ ] | or control "
          "characters, not starting with _ or . and not ending with .")  # fmt: skip
    if problems or not (organization and project and id_ok):
        return None
    return DevOpsTarget(organization, project, int(pipeline))
