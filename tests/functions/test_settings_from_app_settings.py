"""App settings: names and endpoints only; an unresolved Key Vault reference means no webhook, not a crash; every
setting is checked when the worker starts, all at once, each problem naming the setting, its value and the rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
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


DEVOPS = {"RETRAIN_PIPELINE_ID": "42", "AZURE_DEVOPS_ORGANIZATION": "contoso", "AZURE_DEVOPS_PROJECT": "ML"}

BAD_SETTINGS = [
    ({"AUDIT_TABLE_NAME": ""}, "AUDIT_TABLE_NAME is missing"),
    ({"AUDIT_TABLE_NAME": "audit-events"}, "AUDIT_TABLE_NAME = 'audit-events': must be 3-63 letters and digits"),
    ({"AUDIT_TABLE_NAME": "1events"}, "starting with a letter"),
    ({"AUDIT_TABLE_ENDPOINT": "staud.table.core.windows.net"}, "AUDIT_TABLE_ENDPOINT = 'staud.table"),
    ({"AUDIT_TABLE_ENDPOINT": "http://staud.table.core.windows.net"}, "must be the table service's https:// URL"),
    ({"WORKSPACE_RESOURCE_ID": "mlw-dev"}, "WORKSPACE_RESOURCE_ID = 'mlw-dev': must be the workspace's resource ID"),
    ({"WORKSPACE_RESOURCE_ID": BASE["WORKSPACE_RESOURCE_ID"] + "/"}, "WORKSPACE_RESOURCE_ID"),
    ({"WORKSPACE_RESOURCE_ID": BASE["WORKSPACE_RESOURCE_ID"].replace("MachineLearningServices", "Storage")},
     "WORKSPACE_RESOURCE_ID"),
    (DEVOPS | {"RETRAIN_PIPELINE_ID": "abc"}, "RETRAIN_PIPELINE_ID = 'abc': must be a positive pipeline definition ID"),
    (DEVOPS | {"RETRAIN_PIPELINE_ID": "0"}, "RETRAIN_PIPELINE_ID = '0'"),
    (DEVOPS | {"RETRAIN_PIPELINE_ID": "-3"}, "RETRAIN_PIPELINE_ID = '-3'"),
    (DEVOPS | {"RETRAIN_PIPELINE_ID": "4.2"}, "RETRAIN_PIPELINE_ID = '4.2'"),
    (DEVOPS | {"RETRAIN_PIPELINE_ID": "\u0663"}, "RETRAIN_PIPELINE_ID = '\u0663'"),  # an Arabic-Indic three
    (DEVOPS | {"RETRAIN_PIPELINE_ID": "99999999999"}, "(1 to 2147483647)"),
    ({"RETRAIN_PIPELINE_ID": "7"}, "AZURE_DEVOPS_ORGANIZATION is missing"),
    (DEVOPS | {"AZURE_DEVOPS_ORGANIZATION": "con toso"}, "AZURE_DEVOPS_ORGANIZATION = 'con toso'"),
    (DEVOPS | {"AZURE_DEVOPS_ORGANIZATION": "-contoso"}, "starting and ending with a letter or digit"),
    (DEVOPS | {"AZURE_DEVOPS_PROJECT": "ML/Platform"}, "AZURE_DEVOPS_PROJECT = 'ML/Platform'"),
    (DEVOPS | {"AZURE_DEVOPS_PROJECT": "_hidden"}, "not starting with _ or ."),
    (DEVOPS | {"AZURE_DEVOPS_PROJECT": "x" * 65}, "at most 64 characters"),
    ({"NOTIFICATION_WEBHOOK_URL": "http://insecure.example"}, "must be an https:// URL"),
    ({"NOTIFICATION_WEBHOOK_URL": "https://evil.example/hook"}, "of a Teams workflow or a Slack incoming webhook"),
    ({"LIFECYCLE_DRY_RUN": "maybe"}, "LIFECYCLE_DRY_RUN = 'maybe'"),
]  # fmt: skip


@pytest.mark.parametrize(("override", "problem"), BAD_SETTINGS)
def test_bad_settings_name_the_setting_and_the_rule(override: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidSettings) as raised:
        Settings.from_environment(BASE | override)
    assert problem in str(raised.value)


def test_every_bad_setting_is_reported_at_once() -> None:
    env = BASE | {"WORKSPACE_RESOURCE_ID": "mlw-dev", "AUDIT_TABLE_NAME": "a-b", "RETRAIN_PIPELINE_ID": "x"}
    with pytest.raises(InvalidSettings) as raised:
        Settings.from_environment(env)
    message = str(raised.value)
    for setting in (
        "WORKSPACE_RESOURCE_ID",
        "AUDIT_TABLE_NAME",
        "RETRAIN_PIPELINE_ID",
        "AZURE_DEVOPS_PROJECT",
    ):
        assert f"app setting {setting}" in message


def test_the_webhook_url_never_appears_in_the_error() -> None:
    secret = "https://evil.example/hook?sig=SECRETSIGNATURE"
    with pytest.raises(InvalidSettings) as raised:
        Settings.from_environment(BASE | {"NOTIFICATION_WEBHOOK_URL": secret})
    assert "SECRETSIGNATURE" not in str(raised.value)


def test_a_workspace_id_in_other_letter_case_is_accepted() -> None:
    """Resource IDs compare without regard to case:
    https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules"""
    lower = BASE | {"WORKSPACE_RESOURCE_ID": BASE["WORKSPACE_RESOURCE_ID"].lower()}
    assert Settings.from_environment(lower).workspace_id == lower["WORKSPACE_RESOURCE_ID"]


@given(st.text(max_size=30).filter(lambda s: s.strip() and not (s.strip().isascii() and s.strip().isdigit())))
def test_a_pipeline_id_that_is_not_a_positive_number_is_refused_naming_it(value: str) -> None:
    with pytest.raises(InvalidSettings) as raised:
        Settings.from_environment(BASE | DEVOPS | {"RETRAIN_PIPELINE_ID": value})
    assert "app setting RETRAIN_PIPELINE_ID = " in str(raised.value)
