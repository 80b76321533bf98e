"""A draft data contract from a sample of your data, for you to review (python -m {{ cookiecutter.package_name }}.contract infer).

What it guesses, and what to review:
- the task: classification when the target holds text or at most MAX_CLASSES distinct whole numbers;
- each feature's nullability (empty cells in the sample);
- text columns become `category` with the values the sample holds, sorted (at most MAX_CATEGORIES: a column
  with more, such as free text or an identifier, is refused with a suggestion to drop or bucket it). A value
  the sample misses is refused when scored: add every value the column can hold;
- coded features (at most MAX_CODES distinct whole numbers) become `integer` with `allowed` values; others are
  `float` (a measurement recorded in whole numbers may still arrive as 97.5: make it `integer` only for
  counts), with bounds wider than the sample (0 when nothing is negative, and one observed span beyond each
  end): they catch unit mix-ups and sentinel values, not unusual rows. Replace them with what the data can mean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from {{ cookiecutter.package_name }}.contract import CONTRACT_FILE, PROJECT_ROOT, DataContract, is_written, load
from {{ cookiecutter.package_name }}.datafiles import read_files
from {{ cookiecutter.package_name }}.errors import ContractError

MAX_CLASSES = 20
MAX_CODES = 5
MAX_CATEGORIES = 50
"""Distinct strings a `category` feature may have: more is free text or an identifier, not a category."""
SAMPLE_REQUEST = PROJECT_ROOT / "aml" / "online" / "sample-request.json"
"""CD's smoke-test body: rewritten from the new contract's sample when the project's own contract is written."""
_HEADER = """\
# Data contract DRAFT, inferred by `contract infer` from {rows} rows of {source}.
# Review every entry before you train: descriptions say what the sample showed, not what a column means;
# bounds and allowed values are guesses. See README.md, "Bring your own data", for each key.
"""


def _whole(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(len(present)) and bool((present % 1 == 0).all())


def _bounds(values: pd.Series) -> dict[str, float]:
    low, high = float(values.min()), float(values.max())
    span = (high - low) or abs(high) or 1.0
    # Four significant digits: bounds a reviewer reads, not float noise (18.630000000000003).
    return {
        "minimum": 0.0 if low >= 0 else float(f"{low - span:.4g}"),
        "maximum": float(f"{high + span:.4g}"),
    }


def _category(name: str, values: pd.Series) -> dict[str, Any]:
    present = values.dropna().astype(object)
    if not present.map(lambda value: isinstance(value, str)).all():
        mixed = sorted({type(value).__name__ for value in present})
        raise ContractError(
            f"column {name!r} mixes text with other values ({mixed}): make it all text or all numbers, then infer again"
        )
    categories = sorted(present.unique().tolist())
    if len(categories) > MAX_CATEGORIES:
        raise ContractError(
            f"column {name!r} holds {len(categories)} distinct strings ({categories[:3]}...), more than "
            f"{MAX_CATEGORIES}: a category feature takes a bounded set of values. Drop the column, or bucket "
            "it into fewer values (e.g. the rare ones as 'other'), then infer again"
        )
    return {
        "name": name,
        "description": f"observed {len(categories)} distinct values",
        "type": "category",
        "categories": categories,
        "nullable": bool(values.isna().any()),
    }


def _feature(name: str, values: pd.Series) -> dict[str, Any]:
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("float64")
    present = values.dropna()
    if present.empty:
        raise ContractError(f"column {name!r} is empty in the sample: drop it or infer from more rows")
    if not pd.api.types.is_numeric_dtype(values):
        return _category(name, values)
    codes = sorted(present.unique().tolist())
    coded = _whole(values) and len(codes) <= MAX_CODES
    entry: dict[str, Any] = {
        "name": name,
        "description": f"observed {present.min():g} to {present.max():g}",
        "type": "integer" if coded else "float",
    }
    if coded:
        entry["allowed"] = [float(code) for code in codes]
    else:
        entry |= _bounds(present)
    entry["nullable"] = bool(values.isna().any())
    return entry


def draft(frame: pd.DataFrame, target: str, task: str | None, source: str) -> dict[str, Any]:
    """The contract a reviewer starts from, as a YAML-ready dict (validated by DataContract before returning)."""
    if target not in frame.columns:
        raise ContractError(
            f"--target {target!r}: no such column; the file has {[str(c) for c in frame.columns]}"
        )
    labels = frame[target].dropna()
    as_classes = not pd.api.types.is_numeric_dtype(labels) or (
        _whole(labels) and labels.nunique() <= MAX_CLASSES
    )
    chosen = task or ("classification" if as_classes else "regression")
    if chosen == "regression" and not pd.api.types.is_numeric_dtype(labels):
        raise ContractError(
            f"--task regression: the target {target!r} holds text ({labels.astype(str).head(3).tolist()}), "
            "categories a regression cannot predict; use --task classification or a numeric target"
        )
    target_entry: dict[str, Any] = {"name": target, "description": f"the column to predict ({chosen})"}
    if chosen == "classification":
        classes = sorted(labels.unique().tolist(), key=str)
        target_entry["classes"] = [value if isinstance(value, str) else int(value) for value in classes]
    else:
        target_entry |= _bounds(labels)
    document = {
        "name": Path(source).stem,
        "description": f"inferred from {source}",
        "task": chosen,
        "target": target_entry,
        "features": [_feature(str(name), frame[name]) for name in frame.columns if name != target],
        "sample": {"path": source},
    }
    DataContract.model_validate(document)
    return document


def write_draft(
    data: Path, target: str, task: str | None, rows: int, output: Path, *, force: bool = False
) -> str:
    """Infer from the first `rows` rows of `data` and write the draft to `output`; return what was written."""
    if is_written(output) and not force:
        raise ContractError(
            f"{output} exists: review and edit it, write the draft elsewhere with --output, or replace it with --force"
        )
    frame = read_files(data).head(rows)
    source = (
        data.resolve().relative_to(PROJECT_ROOT).as_posix()
        if data.resolve().is_relative_to(PROJECT_ROOT)
        else str(data.resolve())
    )
    document = draft(frame, target, task, source)
    output.write_text(
        _HEADER.format(rows=len(frame), source=source) + yaml.safe_dump(document, sort_keys=False),
        encoding="utf-8",
    )
    written = [str(output)]
    if output.resolve() == CONTRACT_FILE.resolve() and SAMPLE_REQUEST.parent.is_dir():
        from {{ cookiecutter.package_name }}.payload import AML_KEY, sample_request

        load(output)  # the draft must load before anything derives from it
        SAMPLE_REQUEST.write_text(json.dumps(sample_request(2, AML_KEY)) + "\n", encoding="utf-8")
        written.append(str(SAMPLE_REQUEST))
    return f"wrote {', '.join(written)}: a draft inferred from {len(frame)} rows; review it before training"
