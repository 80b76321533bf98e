"""Prep at Spark scale: validate every row of a table on the executors, split it there, hand training its split.

    prepared = spark_prep.prepare(spark.table("catalog.schema.table"), Path("prepared"))

What prep.py does for one machine, for tables bigger than one: the Databricks job (databricks/train_job.py)
runs it on the job cluster, the tests on local PySpark. The rules are the package's own: each partition is
checked with the schema's public validator (data.SCHEMA.validate, what prep.py applies) on the executors, and
only the problems travel to the driver, which raises one SchemaError listing them before anything is written.
A `category` column is a Spark string column: it reaches each batch as pandas text (nulls as None), so the
contract's `text` and `isin` checks apply to it unchanged.
The split is a hash of each row, so it is the same however Spark partitions the table. Only the two splits,
with the schema's columns, come to the driver: scikit-learn trains in one process, so the train split must fit
the driver's memory (the table need not).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from {{ cookiecutter.package_name }}.data import SCHEMA
from {{ cookiecutter.package_name }}.errors import SchemaError
from {{ cookiecutter.package_name }}.prep import TEST_FILE, TRAIN_FILE, PreparedData
from {{ cookiecutter.package_name }}.settings import RANDOM_STATE, TEST_FRACTION

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MAX_PROBLEMS = 50
"""Problems brought to the driver at most: enough to fix a table, bounded however broken it is."""
_BUCKETS = 10_000


def _partition_problems(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: the schema's violations in each Arrow batch of a partition, one row each."""
    from pyspark import TaskContext

    partition = TaskContext.get().partitionId()
    for batch in batches:
        if batch.empty:
            continue
        try:
            SCHEMA.validate(batch)
        except SchemaError as err:
            # Row numbers count from the start of the batch, so they say where within the partition.
            yield pd.DataFrame({"problem": [f"partition {partition}: {v}" for v in err.violations]})


def validate(frame: DataFrame) -> DataFrame:
    """`frame`'s schema columns, in order; SchemaError listing the violations (at most MAX_PROBLEMS) otherwise."""
    missing = [name for name in SCHEMA.names if name not in frame.columns]
    extra = [name for name in frame.columns if name not in SCHEMA.names]
    problems = [f"column {name!r}: required but missing" for name in missing]
    problems += [f"column {name!r}: not in the schema (expected only {SCHEMA.names})" for name in extra]
    if problems:  # every partition would say the same: say it once, before reading any row
        raise SchemaError(problems)
    found = frame.mapInPandas(_partition_problems, schema="problem string").limit(MAX_PROBLEMS).collect()
    problems = [row.problem for row in found]
    if not problems and frame.isEmpty():
        problems = ["dataset: has no rows"]
    if problems:
        raise SchemaError(problems)
    return frame.select(*SCHEMA.names)


def split(frame: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Train and test rows: a row is a test row when the hash of its values falls in the first TEST_FRACTION
    of the buckets. Deterministic for any partitioning; identical rows land on the same side."""
    from pyspark.sql.functions import lit, pmod, xxhash64

    bucket = pmod(xxhash64(*SCHEMA.names, lit(RANDOM_STATE)), lit(_BUCKETS))
    is_test = bucket < int(TEST_FRACTION * _BUCKETS)
    return frame.where(~is_test), frame.where(is_test)


def prepare(frame: DataFrame, output_dir: Path) -> PreparedData:
    """Validate and split `frame` on Spark; write the splits where prep.py writes them (train.py reads them)."""
    train, test = split(validate(frame))
    output_dir.mkdir(parents=True, exist_ok=True)
    train_rows, test_rows = train.toPandas(), test.toPandas()
    prepared = PreparedData(output_dir / TRAIN_FILE, output_dir / TEST_FILE, len(train_rows) + len(test_rows))
    train_rows.to_parquet(prepared.train, index=False)
    test_rows.to_parquet(prepared.test, index=False)
    return prepared
