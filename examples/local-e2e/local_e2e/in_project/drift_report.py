"""A drift report: each scored batch against the training data, per feature, logged to MLflow.

    python drift_report.py --package diabetes_progression --reference artifacts/prepared/train.parquet \
        --current batch=scored.parquet --current batch_shifted=scored_shifted.parquet --output ../drift

The population stability index is the project's own `score_batch.feature_drift`; this adds per-feature
statistics, a two-sample test, a plot and a verdict. A feature drifts when its PSI is at least --psi *and*
the test rejects "same distribution" at --p-value: PSI alone overstates change on small batches (sampling
noise alone gives ~0.1-0.3 on 90 rows), the test's p-value accounts for size. The test is Kolmogorov-Smirnov
for numbers and Pearson's chi-squared (reference vs batch counts of each value) for the contract's
`category` features, whose PSI is over their values rather than quantile bins.
Each batch gets an MLflow run `drift-<name>` (metrics, stats.csv, the plot, verdict.json) in the
project's experiment. Prints one JSON line per batch.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOTTED_FEATURES = 4


def drift_table(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    psi: Callable[[pd.DataFrame, pd.DataFrame], pd.Series],
    *,
    psi_threshold: float,
    p_value: float,
    categorical: Collection[str] = (),
) -> pd.DataFrame:
    """One row per feature: both samples' mean and spread (numbers), PSI, the test and whether it drifted."""
    psi_values = psi(reference, current)
    rows = []
    for name in features:
        ref, cur = reference[name], current[name]
        stats = _category_stats(ref, cur) if name in categorical else _numeric_stats(ref, cur)
        rows.append({"feature": name, **stats, "psi": float(psi_values[name])})
    table = pd.DataFrame(rows).set_index("feature")
    table["drifted"] = (table["psi"] >= psi_threshold) & (table["p_value"] < p_value)
    return table.sort_values("psi", ascending=False)


def _numeric_stats(ref: pd.Series, cur: pd.Series) -> dict[str, object]:
    from scipy.stats import ks_2samp

    ks = ks_2samp(ref, cur)
    spread = float(ref.std()) or 1.0  # a constant reference column: report the raw mean shift
    return {
        "reference_mean": float(ref.mean()),
        "current_mean": float(cur.mean()),
        "reference_std": float(ref.std()),
        "current_std": float(cur.std()),
        "mean_shift_in_sd": (float(cur.mean()) - float(ref.mean())) / spread,
        "test": "ks",
        "statistic": float(ks.statistic),
        "p_value": float(ks.pvalue),
    }


def _category_stats(ref: pd.Series, cur: pd.Series) -> dict[str, object]:
    """Pearson's chi-squared test of homogeneity on the counts of each value (missing is a value too)."""
    from scipy.stats import chi2_contingency

    # As object: a parquet file may hold the column as pandas' category dtype on one side only.
    counts = pd.concat(
        [ref.astype(object).value_counts(dropna=False), cur.astype(object).value_counts(dropna=False)], axis=1
    ).fillna(0)
    if len(counts) < 2:  # one value in both samples: nothing can have moved
        return {"test": "chi2", "statistic": 0.0, "p_value": 1.0}
    result = chi2_contingency(counts.to_numpy(dtype=float).T)
    return {"test": "chi2", "statistic": float(result.statistic), "p_value": float(result.pvalue)}


def verdict(table: pd.DataFrame, name: str, psi_threshold: float, p_value: float) -> dict[str, object]:
    drifted = [str(feature) for feature in table.index[table["drifted"]]]
    return {
        "batch": name,
        "drift": bool(drifted),
        "drifted_features": drifted,
        "max_psi": float(table["psi"].max()),
        "top_feature": str(table.index[0]),
        "rule": f"a feature drifts when PSI >= {psi_threshold:g} and its test's p-value < {p_value:g} "
        "(KS for numbers, chi-squared for categories)",
    }


def plot(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    table: pd.DataFrame,
    title: str,
    categorical: Collection[str] = (),
) -> Figure:
    """Reference vs current histograms (shares of each value for categories) of the highest-PSI features,
    PSI in each panel's title."""
    import matplotlib

    matplotlib.use("Agg")  # headless: build agents and the demo have no display
    import matplotlib.pyplot as plt

    shown = list(table.index[:PLOTTED_FEATURES])
    figure, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2), squeeze=False)
    for axis, feature in zip(axes[0], shown, strict=True):
        if feature in categorical:
            shares = pd.concat(
                {
                    "training": reference[feature]
                    .astype(object)
                    .fillna("(missing)")
                    .value_counts(normalize=True),
                    "batch": current[feature].astype(object).fillna("(missing)").value_counts(normalize=True),
                },
                axis=1,
            ).fillna(0)
            shares.plot.bar(ax=axis, alpha=0.7, rot=0)
        else:
            # "stepfilled": one polygon per histogram; bars would be 20 patches each, drawn twice (layout, save).
            for values, label in ((reference[feature], "training"), (current[feature], "batch")):
                axis.hist(values, bins=20, density=True, alpha=0.5, label=label, histtype="stepfilled")
        flag = " DRIFT" if table.loc[feature, "drifted"] else ""
        axis.set_title(f"{feature}: PSI {table.loc[feature, 'psi']:.2f}{flag}")
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def report(
    name: str, reference: pd.DataFrame, current: pd.DataFrame, args: argparse.Namespace, package: str
) -> dict[str, object]:
    import matplotlib.pyplot as plt
    import mlflow

    data = importlib.import_module(f"{package}.data")
    score_batch = importlib.import_module(f"{package}.score_batch")
    categorical = [feature.name for feature in data.FEATURES if feature.type == "category"]
    table = drift_table(
        reference,
        current,
        data.FEATURE_NAMES,
        lambda ref, cur: score_batch.feature_drift(ref, cur),
        psi_threshold=args.psi,
        p_value=args.p_value,
        categorical=categorical,
    )
    result = verdict(table, name, args.psi, args.p_value)
    folder = args.output / name
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "stats.csv")
    verdict_title = f"{name}: {'DRIFT' if result['drift'] else 'no drift'}"
    figure = plot(reference, current, table, verdict_title, categorical)
    figure.savefig(folder / "drift.png", dpi=80)
    plt.close(figure)
    (folder / "verdict.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    with mlflow.start_run(run_name=f"drift-{name}") as run:
        mlflow.set_tags({"kind": "drift-report", "drift": str(result["drift"]).lower(), "batch": name})
        mlflow.log_params({"psi_threshold": args.psi, "p_value": args.p_value, "rows": len(current)})
        mlflow.log_metrics({f"psi_{feature}": float(value) for feature, value in table["psi"].items()})
        mlflow.log_metrics(
            {"max_psi": result["max_psi"], "drifted_features": len(result["drifted_features"])}
        )
        mlflow.log_artifacts(str(folder), artifact_path="drift")
    return {**result, "run_id": run.info.run_id, "folder": str(folder)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--package", required=True, help="the generated project's package name")
    parser.add_argument("--reference", type=Path, required=True, help="the training rows (train.parquet)")
    parser.add_argument("--current", action="append", required=True, help="name=scored.parquet, repeatable")
    parser.add_argument("--output", type=Path, required=True, help="folder for the reports")
    parser.add_argument("--psi", type=float, default=0.25)
    parser.add_argument("--p-value", type=float, default=0.01)
    args = parser.parse_args(argv)

    import mlflow

    settings = importlib.import_module(f"{args.package}.settings")
    mlflow.set_experiment(settings.EXPERIMENT_NAME)
    reference = pd.read_parquet(args.reference)
    for item in args.current:
        name, _, path = item.partition("=")
        if not name or not path:
            parser.error(f"--current {item!r}: expected name=path")
        print(json.dumps(report(name, reference, pd.read_parquet(path), args, args.package)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
