"""The handler's settings, read once from the app settings that infra/components/lifecycle_events.py sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lifecycle_handler.errors import InvalidSettings
from lifecycle_handler.outbound import DevOpsTarget

KEY_VAULT_REFERENCE_PREFIX = "@Microsoft.KeyVault("
"""An app setting still holding this prefix is a reference the platform could not resolve."""


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
        """Settings from app settings; raises InvalidSettings naming the setting, its value and the rule."""

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                msg = f"app setting {name} is missing or empty"
                raise InvalidSettings(msg)
            return value

        webhook = env.get("NOTIFICATION_WEBHOOK_URL", "").strip()
        if webhook.startswith(KEY_VAULT_REFERENCE_PREFIX):
            webhook = ""  # the secret does not exist yet: notify the log only
        elif webhook and not webhook.startswith("https://"):
            msg = "app setting NOTIFICATION_WEBHOOK_URL must be an https:// URL (its value is not logged)"
            raise InvalidSettings(msg)
        devops = None
        pipeline = env.get("RETRAIN_PIPELINE_ID", "").strip()
        if pipeline:
            if not pipeline.isdigit() or int(pipeline) == 0:
                msg = f"app setting RETRAIN_PIPELINE_ID = {pipeline!r}: must be a positive pipeline definition ID"
                raise InvalidSettings(msg)
            devops = DevOpsTarget(
                required("AZURE_DEVOPS_ORGANIZATION"), required("AZURE_DEVOPS_PROJECT"), int(pipeline)
            )
        dry_run = env.get("LIFECYCLE_DRY_RUN", "false").strip().lower()
        if dry_run not in {"true", "false"}:
            msg = f"app setting LIFECYCLE_DRY_RUN = {dry_run!r}: must be true or false"
            raise InvalidSettings(msg)
        return cls(
            audit_table_endpoint=required("AUDIT_TABLE_ENDPOINT"),
            audit_table_name=required("AUDIT_TABLE_NAME"),
            workspace_id=required("WORKSPACE_RESOURCE_ID"),
            webhook_url=webhook,
            devops=devops,
            dry_run=dry_run == "true",
        )
