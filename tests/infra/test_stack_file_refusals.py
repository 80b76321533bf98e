"""Stack files are read strictly: every malformed file is refused naming the file, line and key, never a traceback.

The corpus below is one case per class of bad stack file found by trying the reader as a careless user would;
each class is refused by the plan (`python -m infra.plan`) and by the program `pulumi up` runs alike.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.config import PROJECT
from infra.errors import InvalidStackConfig
from infra.plan.stack_files import load_stack_config
from infra.stack_file import read_stack_file
from tests.infra.conftest import REPO

VALID = "config:\n  azure-mlops:environment: qa\n  azure-mlops:owner: team\n  azure-mlops:costCenter: CC-1\n"

# (case, file text, what the refusal must say)
BAD_FILES = [
    ("top level is a list", "- config: {}\n", "Pulumi.qa.yaml line 1: the file must be a mapping"),
    ("top level is a scalar", "just text\n", "Pulumi.qa.yaml line 1: the file must be a mapping"),
    ("config is a list", "config:\n  - azure-mlops:owner: team\n", "line 2: 'config' must be a mapping"),
    ("config is a string", "config: owner\n", "line 1: 'config' must be a mapping"),
    ("invalid YAML", "config:\n  azure-mlops:owner: [team\n", "Pulumi.qa.yaml line 3: is not valid YAML"),
    ("tab indentation", "config:\n\tazure-mlops:owner: team\n", "is not valid YAML"),
    ("two documents", VALID + "---\n" + VALID, "is not valid YAML"),
    (
        "key without namespace",
        VALID + "  owner: other\n",
        "line 5: config key 'owner' has no namespace: write it as 'azure-mlops:owner'",
    ),
    (
        "misspelled namespace",
        VALID + "  azure-mlop:networkProfile: public\n",
        "line 5: config key 'azure-mlop:networkProfile' is in namespace 'azure-mlop'",
    ),
    (
        "empty key after namespace",
        VALID + "  'azure-mlops:': x\n",
        "config key 'azure-mlops:' has no namespace",
    ),
    (
        "null value",
        "config:\n  azure-mlops:environment: qa\n  azure-mlops:owner: null\n",
        "line 3: config key 'azure-mlops:owner' is null",
    ),
    ("empty value", "config:\n  azure-mlops:owner:\n", "line 2: config key 'azure-mlops:owner' is null"),
    (
        "duplicate key",
        VALID + "  azure-mlops:environment: dev\n",
        "line 5: key 'azure-mlops:environment' appears again (first on line 2)",
    ),
    (
        "duplicate key inside a value",
        VALID + "  azure-mlops:dataLakeContainers:\n    - {a: 1, a: 2}\n",
        "line 6: key 'a' appears again",
    ),
    ("duplicate config block", VALID + "config:\n  azure-mlops:owner: x\n", "key 'config' appears again"),
    ("unknown top-level key", "confg:\n  azure-mlops:owner: team\n", "top-level key 'confg' is not one"),
]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "Pulumi.qa.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize(("case", "text", "expected"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_stack_file_is_refused_naming_file_line_and_key(
    tmp_path: Path, case: str, text: str, expected: str
) -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        read_stack_file(_write(tmp_path, text), PROJECT)
    assert expected in str(raised.value), f"{case}: {raised.value}"


def test_non_utf8_stack_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        read_stack_file(_write(tmp_path, b"config:\n  azure-mlops:owner: caf\xe9\n"), PROJECT)
    assert "Pulumi.qa.yaml: is not UTF-8 text" in str(raised.value)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = VALID + "  owner: x\n  azure-mlops:owner: null\n  azure-mlops:environment: dev\n"
    with pytest.raises(InvalidStackConfig) as raised:
        read_stack_file(_write(tmp_path, text), PROJECT)
    assert len(str(raised.value).splitlines()) == 4  # no namespace, null, owner twice, environment twice


def test_provider_namespaces_and_pulumi_settings_are_accepted(tmp_path: Path) -> None:
    text = (
        "secretsprovider: passphrase\n"
        + VALID
        + "  azure-native:location: westeurope\n  pulumi:tags: {a: b}\n"
    )
    values = read_stack_file(_write(tmp_path, text), PROJECT)
    assert values["azure-native:location"] == "westeurope"
    assert values["azure-mlops:owner"] == "team"


def test_an_empty_stack_file_has_no_values(tmp_path: Path) -> None:
    assert read_stack_file(_write(tmp_path, ""), PROJECT) == {}
    assert read_stack_file(_write(tmp_path, "config:\n"), PROJECT) == {}


def test_committed_stack_files_are_accepted() -> None:
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        assert read_stack_file(path, PROJECT), path.name


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_arbitrary_text_is_read_or_refused_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = _write(tmp_path_factory.mktemp("fuzz"), "config:\n  " + text)
    try:
        read_stack_file(path, PROJECT)
    except InvalidStackConfig as err:
        assert "Pulumi.qa.yaml" in str(err)


def test_plan_loader_refuses_what_the_reader_refuses(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    _write(tmp_path, VALID + "  azure-mlops:environment: dev\n")
    with pytest.raises(InvalidStackConfig) as raised:
        load_stack_config(tmp_path, "qa")
    assert "Pulumi.qa.yaml line 5: key 'azure-mlops:environment' appears again" in str(raised.value)


def test_program_refuses_the_stack_file_pulumi_up_would_hand_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pulumi up` runs the program in the project folder: a null there fails before any resource."""
    from infra.program import load_stack_config as program_load_stack_config

    _write(tmp_path, "config:\n  azure-mlops:environment: qa\n  azure-mlops:owner: null\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pulumi, "get_stack", lambda: "qa")
    monkeypatch.setattr(pulumi, "get_project", lambda: PROJECT)
    with pytest.raises(InvalidStackConfig) as raised:
        program_load_stack_config()
    assert (
        str(raised.value)
        == "Pulumi.qa.yaml line 3: config key 'azure-mlops:owner' is null: give it a value, or remove the line to take the project's default"
    )
