"""The data contract: contract.yml (next to this module) declares the data, and everything else derives from it.

It names the task, the target, and every feature with its type, allowed range or values and nullability.
Prep's validation, the training features, the gate's metrics, payload examples, the scoring validation
(online and batch), the monitor's features and target, and the tests all read it; no module knows a dataset.

    python -m {{ cookiecutter.package_name }}.contract check [--contract FILE]
    python -m {{ cookiecutter.package_name }}.contract infer data/train.csv --target label [--task classification]

`infer` writes a draft from a sample of your file for you to review (it never replaces a contract unless
asked with --force). The file is read with pydantic (a bad file fails naming the field and the rule); schema.py
compiles it to a pandera DataFrameSchema.
"""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.errors import ContractError

CONTRACT_FILE = Path(__file__).with_name("contract.yml")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""A sample's relative `path` is relative to the project (src/<package>/ is two levels below it)."""

Task = Literal["regression", "classification"]
_ONE_TRIMMED_LINE = r"^\S(?:[^\x00-\x1f]*\S)?$"
# Any column name a CSV header can hold, but not blank, padded or multi-line (it ends up in YAML and messages).
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_ONE_TRIMMED_LINE)]
Label = int | str
# A category value as a CSV cell holds it: not blank, not padded (" red" is not "red"), one line.
Category = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_ONE_TRIMMED_LINE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feature(_Strict):
    """One input column: its meaning, its type, its bounds (inclusive), allowed values or categories, and
    whether it may be empty. `float`/`integer` columns take `minimum`/`maximum` or `allowed` numbers;
    a `category` column takes `categories`, the exact strings it may hold."""

    name: ColumnName
    description: str = ""
    type: Literal["float", "integer", "category"] = "float"
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[float, ...] | None = Field(default=None, min_length=1)
    categories: tuple[Category, ...] | None = Field(default=None, min_length=1)
    nullable: bool = False

    @field_validator("categories", mode="before")
    @classmethod
    def _text_only(cls, value: object) -> object:
        # pydantic would say only "Input should be a valid string"; YAML turns 1, 2.5, yes and no into
        # numbers and booleans, so say which values and how to keep them text.
        if isinstance(value, list | tuple) and (
            wrong := [item for item in value if not isinstance(item, str)]
        ):
            raise ValueError(
                f"categories are strings, got {wrong!r}: quote them in contract.yml (e.g. '1', 'yes')"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Feature:
        if self.type == "category":
            return self._consistent_category()
        if self.categories is not None:
            raise ValueError(
                f"`categories` belong to `type: category` features; this one is `type: {self.type}`"
            )
        if self.allowed is not None and (self.minimum is not None or self.maximum is not None):
            msg = "declare either `allowed` values or `minimum`/`maximum` bounds, not both"
            raise ValueError(msg)
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"`minimum` {self.minimum:g} is greater than `maximum` {self.maximum:g}")
        if self.type == "integer" and self.allowed and any(value % 1 for value in self.allowed):
            raise ValueError(f"an integer column allows only whole numbers, got {list(self.allowed)}")
        return self

    def _consistent_category(self) -> Feature:
        if self.categories is None:
            msg = "a `type: category` feature lists the strings it may hold in `categories`"
            raise ValueError(msg)
        numeric = [key for key in ("minimum", "maximum", "allowed") if getattr(self, key) is not None]
        if numeric:
            raise ValueError(f"a `type: category` feature takes `categories`, not {numeric}")
        if repeated := sorted({value for value in self.categories if self.categories.count(value) > 1}):
            raise ValueError(f"`categories` must be unique, repeated: {repeated}")
        return self

    @property
    def is_category(self) -> bool:
        return self.type == "category"

    def rule(self) -> str:
        if self.categories is not None:
            return f"one of {list(self.categories)}"
        if self.allowed is not None:
            return f"one of {sorted(self.allowed)}"
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"between {low} and {high}"


class Target(_Strict):
    """The column the model predicts: bounds for regression, its classes for classification."""

    name: ColumnName
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    classes: tuple[Label, ...] | None = Field(default=None, min_length=2)
    positive_class: Label | None = None
    """Binary classification: the class recall and precision are about (default: the last of `classes`)."""


class Sample(_Strict):
    """Where the bundled sample comes from: a dataset shipped in a package (`loader`) or a local file (`path`)."""

    loader: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] | None = None
    options: dict[str, Any] = {}
    rename: dict[str, str] = {}
    target_values: dict[Label, Label] = {}
    path: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Sample:
        if (self.loader is None) == (self.path is None):
            msg = "declare exactly one of `loader` (module:function) and `path` (a .csv/.parquet file)"
            raise ValueError(msg)
        return self


class DataContract(_Strict):
    """The whole contract: see contract.yml for what each key means."""

    name: str = Field(min_length=1)
    description: str = ""
    task: Task
    target: Target
    features: tuple[Feature, ...] = Field(min_length=1)
    sample: Sample | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DataContract:
        names = [feature.name for feature in self.features]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"feature names must be unique, repeated: {repeated}")
        if self.target.name in names:
            raise ValueError(f"the target {self.target.name!r} is also listed as a feature")
        classes = self.target.classes
        if self.task == "classification":
            if classes is None:
                msg = "a classification target needs `classes` (two or more labels)"
                raise ValueError(msg)
            if len(set(classes)) != len(classes):
                raise ValueError(f"target `classes` must be unique, got {list(classes)}")
            if self.target.positive_class is not None and self.target.positive_class not in classes:
                raise ValueError(
                    f"target `positive_class` {self.target.positive_class!r} is not in {list(classes)}"
                )
            if self.target.minimum is not None or self.target.maximum is not None:
                msg = "a classification target has `classes`, not `minimum`/`maximum`"
                raise ValueError(msg)
        elif classes is not None or self.target.positive_class is not None:
            text = [label for label in classes or () if isinstance(label, str)]
            msg = "a regression target has `minimum`/`maximum`, not `classes`/`positive_class`" + (
                f" (text labels {text} are categories: predict them with `task: classification`)"
                if text
                else ""
            )
            raise ValueError(msg)
        return self

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def category_features(self) -> list[Feature]:
        """The `type: category` features, in contract order (the model one-hot encodes them)."""
        return [feature for feature in self.features if feature.is_category]

    @property
    def kind(self) -> Literal["regression", "binary", "multiclass"]:
        """What mlflow.models.evaluate computes metrics for (the gate's metric names depend on it)."""
        if self.task == "regression":
            return "regression"
        return "binary" if len(self.target.classes or ()) == 2 else "multiclass"

    @property
    def positive_class(self) -> Label | None:
        if self.kind != "binary":
            return None
        return (
            self.target.positive_class if self.target.positive_class is not None else self.target.classes[-1]
        )  # type: ignore[index]

    @property
    def mlflow_model_type(self) -> str:
        return "regressor" if self.task == "regression" else "classifier"


def load(path: Path | None = None) -> DataContract:
    """The contract in `path` (default: the packaged contract.yml), or a ContractError naming field and rule."""
    return _load(path or CONTRACT_FILE)


@cache
def _load(path: Path) -> DataContract:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ContractError(f"data contract {path}: cannot be read as YAML ({err})") from err
    if document is None:
        raise ContractError(
            f"data contract {path}: missing or empty: write a draft with make contract-infer "
            "(python -m {{ cookiecutter.package_name }}.contract infer <file> --target <column>) and review it"
        )
    try:
        return DataContract.model_validate(document)
    except ValidationError as err:
        problems = [f"{_location(error['loc'], document)}: {error['msg']}" for error in err.errors()]
        raise ContractError(f"data contract {path} is invalid:\n  " + "\n  ".join(problems)) from err


def is_written(path: Path = CONTRACT_FILE) -> bool:
    """Whether `path` holds a contract at all (a file of comments only is the template's "not written yet")."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) is not None
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # something is there: never replace it unasked


def _location(loc: tuple[int | str, ...], document: object) -> str:
    """`features[2] (bmi).maximum` rather than pydantic's `features.2.maximum`."""
    parts, node = [], document
    for key in loc:
        if isinstance(key, int):
            name = node[key].get("name") if isinstance(node, list) and isinstance(node[key], dict) else None
            parts[-1] += f"[{key}]" + (f" ({name})" if name else "")
        else:
            parts.append(str(key))
        node = node[key] if isinstance(node, dict | list) and _has(node, key) else None
    return ".".join(parts) or "the file"


def _has(node: dict[Any, Any] | list[Any], key: int | str) -> bool:
    return key in node if isinstance(node, dict) else isinstance(key, int) and 0 <= key < len(node)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="load the contract and validate its sample")
    check.add_argument("--contract", type=Path, default=CONTRACT_FILE)
    infer = commands.add_parser("infer", help="write a draft contract from a sample of a .csv/.parquet file")
    infer.add_argument("data", type=Path, help="a .csv/.parquet file or a folder of them")
    infer.add_argument("--target", required=True, help="the column to predict")
    infer.add_argument("--task", choices=["regression", "classification"], default=None)
    infer.add_argument("--rows", type=int, default=10_000, help="rows of the file to infer from")
    infer.add_argument("--output", type=Path, default=CONTRACT_FILE)
    infer.add_argument("--force", action="store_true", help="replace an existing contract file")
    args: argparse.Namespace = parser.parse_args(argv)

    def step() -> int:
        if args.command == "infer":
            from {{ cookiecutter.package_name }}.infer import write_draft

            print(write_draft(args.data, args.target, args.task, args.rows, args.output, force=args.force))
            return cli.EXIT_OK
        from {{ cookiecutter.package_name }}.datafiles import load_sample
        from {{ cookiecutter.package_name }}.schema import Schema

        contract = load(args.contract)
        rows = len(Schema(contract).validate(load_sample(contract))) if contract.sample else 0
        print(f"data contract {args.contract}: valid ({contract.task}, {len(contract.features)} features, "
              f"sample: {rows} valid rows)")  # fmt: skip
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
