"""Reading data: one .csv/.parquet file, a folder of them, an MLTable folder, or a contract's sample.

Kept apart from data.py so that `contract infer` can read a file before any contract exists.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from {{ cookiecutter.package_name }}.contract import PROJECT_ROOT, DataContract
from {{ cookiecutter.package_name }}.errors import ContractError, DataSourceError

MLTABLE_FILE = "MLTable"


def read_files(path: Path) -> pd.DataFrame:
    """Read one .csv/.parquet file, every such file under a folder, or the files an MLTable folder lists."""
    if path.is_dir() and (path / MLTABLE_FILE).is_file():
        files = _mltable_files(path)
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in _READERS)
    else:
        files = [path]
    if not files or not all(p.is_file() and p.suffix in _READERS for p in files):
        raise DataSourceError(
            f"data source {str(path)!r}: expected 'sample', a .csv/.parquet file, a folder containing such "
            "files, or an MLTable folder listing them"
        )
    return pd.concat([_read_file(p) for p in files], ignore_index=True)


def _mltable_files(folder: Path) -> list[Path]:
    """The files an MLTable's `paths` name (`file:` entries, or every .csv/.parquet under `folder:` entries)."""
    where = f"MLTable {str(folder / MLTABLE_FILE)!r}"
    try:
        paths = yaml.safe_load((folder / MLTABLE_FILE).read_text(encoding="utf-8"))["paths"]
    except (yaml.YAMLError, KeyError, TypeError) as err:
        raise DataSourceError(f"{where}: expected YAML with a `paths` list ({err})") from err
    files: list[Path] = []
    for entry in paths if isinstance(paths, list) else []:
        if isinstance(entry, dict) and "file" in entry:
            files.append(folder / str(entry["file"]))
        elif isinstance(entry, dict) and "folder" in entry:
            files += sorted(p for p in (folder / str(entry["folder"])).rglob("*") if p.suffix in _READERS)
        else:
            raise DataSourceError(f"{where}: paths entry {entry!r} is not a local `file:` or `folder:`")
    return files


def _read_file(path: Path) -> pd.DataFrame:
    """One file, or a DataSourceError saying what is wrong with it (never a parser's traceback)."""
    where = f"data file {str(path)!r}"
    try:
        return _READERS[path.suffix](path)
    except UnicodeDecodeError as err:
        raise DataSourceError(
            f"{where}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); save it as UTF-8"
        ) from err
    except pd.errors.EmptyDataError as err:
        raise DataSourceError(f"{where}: empty, expected a header row with the contract's columns") from err
    except pd.errors.ParserError as err:
        raise DataSourceError(f"{where}: not a readable CSV ({err})") from err
    except (pa.ArrowException, OSError) as err:
        raise DataSourceError(f"{where}: not a readable Parquet file ({err})") from err


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8")


_READERS = {".csv": _read_csv, ".parquet": pd.read_parquet}


def load_sample(contract: DataContract) -> pd.DataFrame:
    """The contract's sample, renamed and recoded as it declares (not validated: callers validate)."""
    sample = contract.sample
    if sample is None:
        raise ContractError(
            f"data contract {contract.name!r}: declares no `sample`; pass a file or folder as the source instead"
        )
    if sample.path is not None:
        path = Path(sample.path)
        return read_files(path if path.is_absolute() else PROJECT_ROOT / path)
    module, function = sample.loader.split(":")  # type: ignore[union-attr]
    try:
        loaded = getattr(importlib.import_module(module), function)(**sample.options)
    except (ImportError, AttributeError, TypeError) as err:
        raise ContractError(
            f"data contract sample.loader {sample.loader!r}: cannot be called ({err})"
        ) from err
    frame = (
        loaded
        if isinstance(loaded, pd.DataFrame)
        else getattr(loaded, "frame", getattr(loaded, "data", None))
    )
    if not isinstance(frame, pd.DataFrame):
        raise ContractError(
            f"data contract sample.loader {sample.loader!r}: returned no DataFrame (pass as_frame: true)"
        )
    frame = frame.rename(columns=sample.rename)
    if sample.target_values:
        frame[contract.target.name] = frame[contract.target.name].map(sample.target_values)
    return frame
