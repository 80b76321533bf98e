"""App settings: names and endpoints only; an unresolved Key Vault reference means no webhook, not a crash."""

from __future__ import annotations

import pytest
from lifecycle_handler.errors import InvalidSettings
from lifecycle_handler.outbound import DevOpsTarget
from lifecycle_handler.settings import Settings

BASE = {
    "AUDIT_TABLE_ENDPOINT": "https://staud.table.core.windows.net",
    "AUDIT_TABLE_NAME": "lifecycleevents",
    "WORKSPACE_RESOURCE_ID": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
}


def test_a_full_set_of_settings_enables_retraining() -> None:
    env = BASE | {
        "RETRAIN_PIPELINE_ID": "42",
        "AZURE_DEVOPS_ORGANIZATION": "contoso",
        "AZURE_DEVOPS_PROJECT": "ML Platform",
        "NOTIFICATION_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X",
        "LIFECYCLE_DRY_RUN": "true",
    }
    settings = Settings.from_environment(env)
    assert settings.devops == DevOpsTarget("contoso", "ML Platform", 42)
    assert settings.dry_run is True
    assert settings.webhook_url == "https://hooks.slack.com/services/T/B/X"


def test_an_unresolved_key_vault_reference_disables_the_webhook() -> None:
    env = BASE | {
        "NOTIFICATION_WEBHOOK_URL": "@Microsoft.KeyVault(VaultName=kv;SecretName=lifecycle-notification-webhook)"
    }
    assert Settings.from_environment(env).webhook_url == ""


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"AUDIT_TABLE_NAME": ""}, "AUDIT_TABLE_NAME is missing"),
        ({"RETRAIN_PIPELINE_ID": "abc"}, "RETRAIN_PIPELINE_ID = 'abc'"),
        ({"RETRAIN_PIPELINE_ID": "7"}, "AZURE_DEVOPS_ORGANIZATION is missing"),
        ({"NOTIFICATION_WEBHOOK_URL": "http://insecure.example"}, "must be an https:// URL"),
        ({"LIFECYCLE_DRY_RUN": "maybe"}, "LIFECYCLE_DRY_RUN = 'maybe'"),
    ],
)
def test_bad_settings_name_the_setting_and_the_rule(override: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidSettings) as raised:
        Settings.from_environment(BASE | override)
    assert problem in str(raised.value)
