"""The data contract: one file drives the data rules, bad contracts name the field and the rule, and `infer`
drafts a contract that loads and accepts the data it came from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
import yaml

from {{ cookiecutter.package_name }} import contract, data, gate
from {{ cookiecutter.package_name }}.datafiles import load_sample, read_files
from {{ cookiecutter.package_name }}.errors import ContractError
from {{ cookiecutter.package_name }}.infer import draft, write_draft
from {{ cookiecutter.package_name }}.schema import Schema

CONTRACT = contract.load()


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(contract.CONTRACT_FILE.read_text(encoding="utf-8"))


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "contract.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_the_data_module_takes_everything_from_the_contract() -> None:
    assert [feature.name for feature in CONTRACT.features] == data.FEATURE_NAMES
    assert CONTRACT.target.name == data.TARGET
    assert data.SCHEMA.names == [*data.FEATURE_NAMES, data.TARGET]
    assert data.FEATURE_SCHEMA.names == data.FEATURE_NAMES
    assert set(gate.GateConfig.load().rules) <= gate.REPORTED_METRICS[CONTRACT.kind]


def test_the_contract_compiles_to_a_strict_pandera_schema() -> None:
    schema = contract.pandera_schema(CONTRACT)
    assert isinstance(schema, pa.DataFrameSchema) and schema.strict is True
    assert list(schema.columns) == [*CONTRACT.feature_names, CONTRACT.target.name]
    assert all(not column.nullable for column in schema.columns.values()) or any(
        feature.nullable for feature in CONTRACT.features
    )
    assert list(contract.pandera_schema(CONTRACT, with_target=False).columns) == CONTRACT.feature_names


def _mutate(document: dict, path: tuple, value: object) -> dict:
    copy = yaml.safe_load(yaml.safe_dump(document))
    node = copy
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copy


BAD: dict[str, tuple[tuple, object, str]] = {
    "an unknown key": (
        ("features", 0, "maximun"),
        5,
        r"features\[0\] \(.+\)\.maximun: Extra inputs are not permitted",
    ),
    "a task that does not exist": (
        ("task",),
        "ranking",
        r"task: Input should be 'regression' or 'classification'",
    ),
    "bounds the wrong way round": (("features", 0, "maximum"), -1.0, r"features\[0\] \(.+\): Value error"),
    "no features": (("features",), [], r"features: Tuple should have at least 1 item"),
    "a target that is also a feature": (("target", "name"), "FEATURE0", "is also listed as a feature"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_contract_names_the_field_and_the_rule(case: str, document: dict, tmp_path: Path) -> None:
    path, value, message = BAD[case]
    if value == "FEATURE0":
        value = document["features"][0]["name"]
    with pytest.raises(ContractError, match=message) as caught:
        contract.load(write(tmp_path, _mutate(document, path, value)))
    assert str(tmp_path / "contract.yml") in str(caught.value)


def test_the_task_and_the_target_must_agree(document: dict, tmp_path: Path) -> None:
    other = "classification" if document["task"] == "regression" else "regression"
    with pytest.raises(ContractError, match="target"):
        contract.load(write(tmp_path, {**document, "task": other}))


def test_a_missing_or_empty_contract_says_how_to_write_one(tmp_path: Path) -> None:
    (tmp_path / "empty.yml").write_text("# nothing yet\n")
    for path in (tmp_path / "absent.yml", tmp_path / "empty.yml"):
        with pytest.raises(ContractError, match="missing or empty: write a draft with make contract-infer"):
            contract.load(path)


def test_infer_drafts_a_contract_that_accepts_the_data_it_came_from(tmp_path: Path) -> None:
    sample = data.load_source(data.SAMPLE_SOURCE)
    sample.to_csv(tmp_path / "rows.csv", index=False)
    output = tmp_path / "draft.yml"
    message = write_draft(tmp_path / "rows.csv", data.TARGET, None, 10_000, output)

    drafted = contract.load(output)
    assert f"wrote {output}" in message and "review it" in message
    assert drafted.task == CONTRACT.task and drafted.kind == CONTRACT.kind
    assert drafted.feature_names == CONTRACT.feature_names
    assert len(Schema(drafted).validate(load_sample(drafted))) == len(sample)
    assert output.read_text(encoding="utf-8").startswith("# Data contract DRAFT")


def test_infer_never_replaces_a_contract_unless_asked(tmp_path: Path) -> None:
    data.load_source(data.SAMPLE_SOURCE).head(50).to_csv(tmp_path / "rows.csv", index=False)
    output = tmp_path / "contract.yml"
    output.write_text("name: mine\n")
    with pytest.raises(ContractError, match="exists: review and edit it"):
        write_draft(tmp_path / "rows.csv", data.TARGET, None, 100, output)
    assert output.read_text() == "name: mine\n"
    write_draft(tmp_path / "rows.csv", data.TARGET, None, 100, output, force=True)
    assert contract.load(output).target.name == data.TARGET


def test_infer_refuses_text_features_and_an_unknown_target() -> None:
    rows = pd.DataFrame({"colour": ["red", "blue"], "size": [1.0, 2.0], "label": [0, 1]})
    with pytest.raises(ContractError, match="column 'colour' holds text"):
        draft(rows, "label", None, "rows.csv")
    with pytest.raises(ContractError, match="--target 'price': no such column"):
        draft(rows.drop(columns="colour"), "price", None, "rows.csv")


def test_an_mltable_folder_reads_the_files_it_lists(tmp_path: Path) -> None:
    sample = data.load_source(data.SAMPLE_SOURCE)
    sample.head(30).to_parquet(tmp_path / "part.parquet", index=False)
    sample.tail(5).to_csv(tmp_path / "ignored.csv", index=False)
    (tmp_path / "MLTable").write_text("paths:\n  - file: ./part.parquet\n")
    assert len(data.load_source(str(tmp_path))) == 30
    assert len(read_files(tmp_path)) == 30
