"""Step 1, prep: load the data source, validate it against the schema, write the train/test split.

python -m {{ cookiecutter.package_name }}.prep --source sample --output artifacts/prepared
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.data import SAMPLE_SOURCE, load_source, split
from {{ cookiecutter.package_name }}.settings import WORKDIR

TRAIN_FILE = "train.parquet"
TEST_FILE = "test.parquet"


@dataclass(frozen=True)
class PreparedData:
    train: Path
    test: Path
    rows: int


def prepare(source: str, output_dir: Path) -> PreparedData:
    """Validate `source` and write its split into `output_dir`; invalid data raises SchemaError."""
    frame = load_source(source)
    train, test = split(frame)
    output_dir.mkdir(parents=True, exist_ok=True)
    prepared = PreparedData(output_dir / TRAIN_FILE, output_dir / TEST_FILE, len(frame))
    train.to_parquet(prepared.train, index=False)
    test.to_parquet(prepared.test, index=False)
    return prepared


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--source", default=SAMPLE_SOURCE, help="'sample', a .csv/.parquet file or a folder")
    parser.add_argument("--output", type=Path, default=WORKDIR / "prepared", help="folder for the split")
    args = parser.parse_args(argv)

    def step() -> int:
        prepared = prepare(args.source, args.output)
        print(f"prepared {prepared.rows} valid rows into {prepared.train} and {prepared.test}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
