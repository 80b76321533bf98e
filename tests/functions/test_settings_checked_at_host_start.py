"""The handler's app settings are checked when the Functions host loads the app, not at the first message.

The Python v2 programming model has no function.json: the worker finds the functions by importing
function_app.py and reading the app object's registrations, so an exception at import is the app failing to
load. Each test imports the app in a fresh interpreter, as the worker does, with the app folder as the only
path and the given app settings as the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.functions.conftest import APP, APP_SETTINGS

# What the worker does at start: import the script file, then index the app's functions.
INDEX = "import function_app; print(len(function_app.app.get_functions()), 'function(s) indexed')"


def load_app(settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(APP), **settings}
    return subprocess.run(
        [sys.executable, "-c", INDEX],
        cwd=APP,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_valid_settings_load_the_app_with_its_function() -> None:
    loaded = load_app(APP_SETTINGS)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "1 function(s) indexed"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"WORKSPACE_RESOURCE_ID": "mlw-dev"},
            "app setting WORKSPACE_RESOURCE_ID = 'mlw-dev': must be the workspace's",
        ),
        ({"AUDIT_TABLE_ENDPOINT": ""}, "app setting AUDIT_TABLE_ENDPOINT is missing or empty"),
        ({"LIFECYCLE_DRY_RUN": "yes"}, "app setting LIFECYCLE_DRY_RUN = 'yes': must be true or false"),
    ],
    ids=["malformed", "missing", "not-a-boolean"],
)
def test_an_invalid_setting_fails_the_app_load_with_one_message_naming_it(
    change: dict[str, str], expected: str
) -> None:
    """An import error is how a Python app fails to load: the host logs the exception and runs none of the app's
    functions (https://learn.microsoft.com/en-us/azure/azure-functions/recover-python-functions), so the queue
    keeps its messages for the fixed app instead of each one failing on the same setting and being poisoned."""
    loaded = load_app({**APP_SETTINGS, **change})

    assert loaded.returncode != 0
    assert "function(s) indexed" not in loaded.stdout
    last = loaded.stderr.strip().splitlines()[-1]
    assert last.startswith("lifecycle_handler.errors.InvalidSettings: invalid app settings: ")
    assert expected in last
    # One message for every bad setting at once, not one per restart.
    assert last.count("app setting ") == 1


def test_every_bad_setting_is_named_in_the_one_message() -> None:
    loaded = load_app({"WORKSPACE_RESOURCE_ID": "mlw-dev", "AUDIT_TABLE_NAME": "audit-events"})

    last = loaded.stderr.strip().splitlines()[-1]
    assert loaded.returncode != 0
    for named in (
        "AUDIT_TABLE_ENDPOINT is missing",
        "AUDIT_TABLE_NAME = 'audit-events'",
        "WORKSPACE_RESOURCE_ID",
    ):
        assert named in last
