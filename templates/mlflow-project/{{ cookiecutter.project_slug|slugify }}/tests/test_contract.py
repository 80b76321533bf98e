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
from {{ cookiecutter.package_name }}.errors import ContractError, SchemaError
from {{ cookiecutter.package_name }}.infer import MAX_CATEGORIES, draft, write_draft
from {{ cookiecutter.package_name }}.schema import Schema, pandera_schema

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
    schema = pandera_schema(CONTRACT)
    assert isinstance(schema, pa.DataFrameSchema) and schema.strict is True
    assert list(schema.columns) == [*CONTRACT.feature_names, CONTRACT.target.name]
    assert all(not column.nullable for column in schema.columns.values()) or any(
        feature.nullable for feature in CONTRACT.features
    )
    assert list(pandera_schema(CONTRACT, with_target=False).columns) == CONTRACT.feature_names


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


def test_infer_drafts_text_columns_as_categories_and_refuses_an_unknown_target() -> None:
    rows = pd.DataFrame(
        {"colour": ["red", "blue", None, "red"], "size": [1.0, 2.0, 3.0, 4.0], "label": [0, 1, 0, 1]}
    )
    colour = draft(rows, "label", None, "rows.csv")["features"][0]
    assert colour == {
        "name": "colour", "description": "observed 2 distinct values", "type": "category",
        "categories": ["blue", "red"], "nullable": True,
    }  # fmt: skip
    with pytest.raises(ContractError, match="--target 'price': no such column"):
        draft(rows.drop(columns="colour"), "price", None, "rows.csv")
    with pytest.raises(ContractError, match=r"--task regression: the target 'colour' holds text"):
        draft(rows.dropna(), "colour", "regression", "rows.csv")


def test_infer_refuses_a_text_column_too_varied_to_be_a_category() -> None:
    rows = pd.DataFrame(
        {"customer": [f"c{n:03d}" for n in range(MAX_CATEGORIES + 1)], "label": [0, 1] * 25 + [0]}
    )
    with pytest.raises(
        ContractError, match=rf"column 'customer' holds {MAX_CATEGORIES + 1} distinct strings"
    ) as caught:
        draft(rows, "label", None, "rows.csv")
    assert "Drop the column, or bucket it into fewer values" in str(caught.value)
    mixed = pd.DataFrame({"code": ["a", 1, "b"], "label": [0, 1, 0]})
    with pytest.raises(
        ContractError, match=r"column 'code' mixes text with other values \(\['int', 'str'\]\)"
    ):
        draft(mixed, "label", None, "rows.csv")


def _category_document(document: dict, **colour: object) -> dict:
    feature = {"name": "colour", "type": "category", "categories": ["blue", "red"], **colour}
    return {**document, "features": [*document["features"], feature]}


BAD_CATEGORIES: dict[str, tuple[dict, str]] = {
    "no categories": ({"categories": []}, r"categories: Tuple should have at least 1 item"),
    "a category without its values": ({"categories": None}, "lists the strings it may hold in `categories`"),
    "repeated values": ({"categories": ["red", "blue", "red"]}, r"must be unique, repeated: \['red'\]"),
    "numbers": ({"categories": ["red", 1, 2.5]}, r"categories are strings, got \[1, 2.5\]: quote them"),
    "YAML booleans": ({"categories": [True, False]}, r"got \[True, False\]: quote them in contract.yml"),
    "a padded value": ({"categories": [" red"]}, r"categories\[0\]: String should match pattern"),
    "numeric bounds": ({"minimum": 0}, r"a `type: category` feature takes `categories`, not \['minimum'\]"),
    "categories on a number": ({"type": "float"}, "`categories` belong to `type: category` features"),
}


@pytest.mark.parametrize("case", BAD_CATEGORIES)
def test_a_bad_category_feature_names_the_field_and_the_rule(
    case: str, document: dict, tmp_path: Path
) -> None:
    changes, message = BAD_CATEGORIES[case]
    index = len(document["features"])
    with pytest.raises(ContractError, match=message) as caught:
        contract.load(write(tmp_path, _category_document(document, **changes)))
    assert f"features[{index}] (colour)" in str(caught.value)


def test_a_regression_target_cannot_have_text_classes(document: dict, tmp_path: Path) -> None:
    target = {"name": "size", "classes": ["small", "large"]}
    with pytest.raises(
        ContractError, match=r"text labels \['small', 'large'\] are categories: predict them with"
    ):
        contract.load(write(tmp_path, {**document, "task": "regression", "target": target}))


def test_a_category_column_takes_its_strings_however_the_file_typed_them(
    document: dict, tmp_path: Path
) -> None:
    """CSV gives object; parquet object, string or pandas category: each validates, and comes back as object."""
    schema = Schema(
        contract.load(write(tmp_path, _category_document(document, nullable=True))), with_target=False
    )
    rows = data.load_sample()[CONTRACT.feature_names].head(4).assign(colour=["red", None, "blue", "red"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    for typed in ("object", "string", "category"):
        rows.astype({"colour": typed}).to_parquet(tmp_path / f"{typed}.parquet", index=False)
    for path in [
        tmp_path / "rows.csv",
        *(tmp_path / f"{typed}.parquet" for typed in ("object", "string", "category")),
    ]:
        valid = schema.validate(read_files(path))
        assert valid["colour"].dtype == object, path
        assert valid["colour"].tolist()[::2] == ["red", "blue"], path
        assert valid["colour"].isna().tolist() == [False, True, False, False], path


def test_a_category_column_refuses_unknown_values_and_numbers_naming_the_values(
    document: dict, tmp_path: Path
) -> None:
    schema = Schema(contract.load(write(tmp_path, _category_document(document))), with_target=False)
    rows = data.load_sample()[CONTRACT.feature_names].head(3)
    with pytest.raises(SchemaError) as caught:
        schema.validate(rows.assign(colour=["red", "purple", "Red"]))
    assert caught.value.violations == [
        "column 'colour': 2 value(s) not one of ['blue', 'red'], first at row 1 = purple"
    ]
    with pytest.raises(
        SchemaError, match=r"column 'colour': must be text, one of \['blue', 'red'\], found dtype int64"
    ):
        schema.validate(rows.assign(colour=[1, 2, 3]))
    with pytest.raises(SchemaError, match=r"column 'colour': 1 missing value\(s\), first at row 2"):
        schema.validate(rows.assign(colour=["red", "blue", None]))


def test_an_mltable_folder_reads_the_files_it_lists(tmp_path: Path) -> None:
    sample = data.load_source(data.SAMPLE_SOURCE)
    sample.head(30).to_parquet(tmp_path / "part.parquet", index=False)
    sample.tail(5).to_csv(tmp_path / "ignored.csv", index=False)
    (tmp_path / "MLTable").write_text("paths:\n  - file: ./part.parquet\n")
    assert len(data.load_source(str(tmp_path))) == 30
    assert len(read_files(tmp_path)) == 30
