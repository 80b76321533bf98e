"""functions/publish.py: what goes into the handler's zip package, and which app of a stack receives it.

No cloud boundary is involved: the package is built from the real app folder (or a copy of it) and opened
again; the stack outputs are the JSON `pulumi stack output --json` prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.publish import (
    APP_DIR,
    FUNCTION_APP_NAME,
    RESOURCE_GROUP_NAME,
    PublishError,
    build_package,
    login_command,
    main,
    outputs_object,
    package_files,
    publish_target,
)
from tests.functions.conftest import APP_SETTINGS, FUNCTION_NAME

HANDLER_MODULES = {
    f"lifecycle_handler/{name}.py"
    for name in (
        "__init__",
        "audit",
        "columns",
        "decisions",
        "errors",
        "events",
        "handler",
        "notify",
        "outbound",
        "settings",
    )
}


def _copy(tmp_path: Path) -> Path:
    app = tmp_path / "lifecycle_events"
    shutil.copytree(APP_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    return app


def test_the_package_holds_the_app_root_files_and_the_handler_package_only(tmp_path: Path) -> None:
    app = _copy(tmp_path)
    # What a developer's folder also holds, none of which may ship.
    (app / "local.settings.json").write_text('{"Values": {"NOTIFICATION_WEBHOOK_URL": "https://secret"}}')
    (app / "lifecycle_handler" / "__pycache__").mkdir()
    (app / "lifecycle_handler" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (app / ".venv" / "lib").mkdir(parents=True)
    (app / ".venv" / "lib" / "site.py").write_text("")
    (app / ".python_packages").mkdir()
    (app / ".python_packages" / "x.py").write_text("")
    (app / ".env").write_text("SECRET=1")
    (app / "tests").mkdir()
    (app / "tests" / "test_x.py").write_text("")
    names = build_package(app, tmp_path / "out" / "package.zip")
    assert set(names) == {"function_app.py", "host.json", "requirements.txt"} | HANDLER_MODULES
    with zipfile.ZipFile(tmp_path / "out" / "package.zip") as archive:
        assert archive.namelist() == sorted(names)
        assert archive.read("host.json") == (APP_DIR / "host.json").read_bytes()
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())


def test_the_package_of_the_repository_app_is_exactly_its_sources(tmp_path: Path) -> None:
    names = build_package(APP_DIR, tmp_path / "package.zip")
    assert set(names) == {"function_app.py", "host.json", "requirements.txt"} | HANDLER_MODULES


def test_two_builds_of_the_same_sources_are_byte_identical(tmp_path: Path) -> None:
    app = _copy(tmp_path)
    build_package(app, tmp_path / "one.zip")
    (app / "host.json").touch()  # a newer modification time changes nothing
    build_package(app, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_the_packaged_app_loads_and_registers_the_function_event_grid_targets(tmp_path: Path) -> None:
    build_package(APP_DIR, tmp_path / "package.zip")
    unpacked = tmp_path / "wwwroot"
    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        archive.extractall(unpacked)
    # As the Functions host loads it: the package root on sys.path, nothing of the repository, the stack's app
    # settings in the environment (checked at import).
    probe = "import function_app; print([f.get_function_name() for f in function_app.app.get_functions()])"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=unpacked, env={**os.environ, **APP_SETTINGS},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == str([FUNCTION_NAME])


def test_a_package_without_a_root_file_or_with_a_link_is_refused(tmp_path: Path) -> None:
    app = _copy(tmp_path)
    (app / "requirements.txt").unlink()
    with pytest.raises(PublishError) as raised:
        package_files(app)
    assert "['requirements.txt'] missing at the package root" in str(raised.value)
    app = _copy(tmp_path / "second")
    (app / "lifecycle_handler" / "linked.py").symlink_to(app / "function_app.py")
    with pytest.raises(PublishError) as raised:
        package_files(app)
    assert "lifecycle_handler/linked.py: a symbolic link" in str(raised.value)


def test_the_target_is_the_stacks_function_app_or_nothing() -> None:
    outputs = {"lifecycleFunctionAppName": "func-mlops-prod-yizr6m", "resourceGroupName": "rg-mlops-prod-we"}
    assert publish_target(outputs) == ("func-mlops-prod-yizr6m", "rg-mlops-prod-we")
    assert publish_target({"lifecycleFunctionAppName": "", "resourceGroupName": "rg-mlops-dev-we"}) == (
        "",
        "",
    )
    assert publish_target({}) == ("", "")
    for bad in ("func;##vso[task.setvariable variable=x]y", "func--double", "-leading"):
        with pytest.raises(PublishError) as raised:
            publish_target({**outputs, "lifecycleFunctionAppName": bad})
        assert "not a function app name" in str(raised.value)
    with pytest.raises(PublishError) as raised:
        publish_target({**outputs, "resourceGroupName": "rg\n##vso[task.complete]"})
    assert "not a resource group name" in str(raised.value)


def test_the_command_line_sets_the_pipeline_variables_and_fails_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"lifecycleFunctionAppName": "func-mlops-dev-oexbr7", "resourceGroupName": "rg-a"})
    )
    assert main(["target", "--outputs", str(outputs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "##vso[task.setvariable variable=functionAppName;isOutput=true]func-mlops-dev-oexbr7" in lines
    assert "##vso[task.setvariable variable=resourceGroupName;isOutput=true]rg-a" in lines
    outputs.write_text(json.dumps({"lifecycleFunctionAppName": ""}))
    assert main(["target", "--outputs", str(outputs)]) == 0
    out = capsys.readouterr().out
    assert "nothing to publish" in out and "variable=functionAppName;isOutput=true]\n" in out
    outputs.write_text("not json")
    assert main(["target", "--outputs", str(outputs)]) == 1
    assert capsys.readouterr().err.startswith("##vso[task.logissue type=error]")
    assert main(["build", "--output", str(tmp_path / "p.zip"), "--app-dir", str(tmp_path / "missing")]) == 1
    assert "no such function app folder" in capsys.readouterr().err
    assert main(["build", "--output", str(tmp_path / "p.zip")]) == 0
    assert zipfile.ZipFile(tmp_path / "p.zip").namelist()[0] == "function_app.py"


class FakePulumi:
    """The pulumi CLI, faked (the state backend is the cloud boundary): records commands, answers outputs."""

    def __init__(self, outputs: str, fail_on: str = "") -> None:
        self.outputs = outputs
        self.fail_on = fail_on
        self.commands: list[list[str]] = []

    def __call__(self, command) -> str:
        self.commands.append(list(command))
        if self.fail_on and self.fail_on in command:
            msg = f"{' '.join(command[:3])} failed (255): error: could not read the backend"
            raise PublishError(msg)
        return self.outputs if command[1:3] == ["stack", "output"] else "Logged in\n"


AZBLOB = {
    "STATE_BACKEND": "azblob",
    "PULUMI_STATE_STORAGE_ACCOUNT": "stpulumistate",
    "PULUMI_STATE_CONTAINER": "pulumi-state",
}


def test_the_stack_mode_logs_in_to_the_backend_then_reads_the_outputs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in AZBLOB.items():
        monkeypatch.setenv(name, value)
    pulumi = FakePulumi(
        json.dumps({"lifecycleFunctionAppName": "func-mlops-staging-mruzml", "resourceGroupName": "rg-s"})
    )
    assert main(["target", "--stack", "staging"], run=pulumi) == 0
    assert pulumi.commands == [
        ["pulumi", "login", "azblob://pulumi-state?storage_account=stpulumistate"],
        ["pulumi", "stack", "output", "--json", "--stack", "staging", "--non-interactive"],
    ]
    assert "variable=functionAppName;isOutput=true]func-mlops-staging-mruzml" in capsys.readouterr().out


def test_the_stack_mode_fails_the_step_on_a_missing_variable_or_a_failed_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATE_BACKEND", "azblob")
    monkeypatch.setenv("PULUMI_STATE_STORAGE_ACCOUNT", "$(PULUMI_STATE_STORAGE_ACCOUNT)")  # undefined in ADO
    monkeypatch.setenv("PULUMI_STATE_CONTAINER", "pulumi-state")
    pulumi = FakePulumi("{}")
    assert main(["target", "--stack", "prod"], run=pulumi) == 1
    assert "Variable PULUMI_STATE_STORAGE_ACCOUNT is not set" in capsys.readouterr().err
    assert pulumi.commands == []  # nothing ran
    for name, value in AZBLOB.items():
        monkeypatch.setenv(name, value)
    assert main(["target", "--stack", "prod"], run=FakePulumi("{}", fail_on="output")) == 1
    assert "pulumi stack output failed (255)" in capsys.readouterr().err
    assert main(["target", "--stack", "prod"], run=FakePulumi("warning: not json")) == 1
    assert "not JSON" in capsys.readouterr().err


def test_pulumi_cloud_login_takes_the_token_from_the_environment_only() -> None:
    assert login_command({"STATE_BACKEND": "pulumicloud", "PULUMI_ACCESS_TOKEN": "pul-secret"}) == [
        "pulumi",
        "login",
    ]
    with pytest.raises(PublishError) as raised:
        login_command({"STATE_BACKEND": "s3"})
    assert "must be azblob or pulumicloud" in str(raised.value)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[1, 2]", "a JSON list, not an object of outputs"),
        ('"lifecycleFunctionAppName"', "a JSON str, not an object of outputs"),
        ("null", "a JSON NoneType, not an object of outputs"),
        ("{", "not JSON"),
        ("[" * 100_000, "not JSON"),
        (b"\xff\xfe", "cannot be read as UTF-8 text"),
        ('{"lifecycleFunctionAppName": ["func-a"], "resourceGroupName": "rg"}', "not a function app name"),
        (
            '{"lifecycleFunctionAppName": "func-a", "resourceGroupName": {"name": "rg"}}',
            "not a resource group name",
        ),
    ],
    ids=[
        "list",
        "string",
        "null",
        "truncated",
        "deeply-nested",
        "not-utf8",
        "app-not-text",
        "group-not-text",
    ],
)
def test_saved_outputs_that_are_not_an_object_of_names_fail_the_step_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, says: str
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert main(["target", "--outputs", str(outputs)]) == 1  # an error, not a traceback
    err = capsys.readouterr().err
    assert err.startswith("##vso[task.logissue type=error]") and says in err
    assert "Traceback" not in err


@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["lifecycleFunctionAppName", "resourceGroupName", "x"]), children),
    max_leaves=8,
))  # fmt: skip
def test_any_json_is_a_target_or_a_publish_error_never_a_crash(value: object) -> None:
    try:
        app, group = publish_target(outputs_object(json.dumps(value), "--outputs o.json"))
    except PublishError as refused:
        assert str(refused).startswith(("--outputs o.json: a JSON", "stack output "))
    else:
        assert (app, group) == ("", "") or (
            FUNCTION_APP_NAME.fullmatch(app) and RESOURCE_GROUP_NAME.fullmatch(group)
        )
