"""The promotion gate's rules, read from gate.toml (shipped in the package, overridable per run).

Every metric the file names must be one mlflow.models.evaluate reports for the data contract's task
(REPORTED_METRICS): a gate on a metric that is never computed would block every model, or none.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path

from mlflow.models import MetricThreshold

from {{ cookiecutter.package_name }}.data import CONTRACT
from {{ cookiecutter.package_name }}.errors import ProjectError

DEFAULT_GATE = files("{{ cookiecutter.package_name }}").joinpath("gate.toml")
_CLASSIFIER = ("accuracy_score", "recall_score", "precision_score", "f1_score")
REPORTED_METRICS: dict[str, frozenset[str]] = {
    "regression": frozenset(
        (
            "example_count",
            "mean_absolute_error",
            "mean_squared_error",
            "root_mean_squared_error",
            "sum_on_target",
            "mean_on_target",
            "r2_score",
            "max_error",
            "mean_absolute_percentage_error",
        )
    ),
    # The gated model is the served pyfunc (validated_model.ValidatedModel), which has no predict_proba:
    # MLflow computes probability metrics (log_loss, roc_auc, precision_recall_auc) only from a raw
    # scikit-learn, XGBoost or CatBoost model's predict_proba, so it reports none of them here.
    "binary": frozenset(
        (
            *_CLASSIFIER,
            "example_count",
            "true_negatives",
            "false_positives",
            "false_negatives",
            "true_positives",
        )
    ),
    # Averaged over the classes (weighted).
    "multiclass": frozenset({*_CLASSIFIER, "example_count"}),
}
"""What MLflow 3.15's default evaluator reports, by the contract's kind of task (data.CONTRACT.kind)."""


class GateConfigError(ProjectError):
    """Raised when the gate file declares an unknown key, a wrong type or no absolute threshold."""


@dataclass(frozen=True)
class MetricRule:
    """What one metric must satisfy; see gate.toml for what each key means."""

    greater_is_better: bool
    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None

    def to_threshold(self, *, against_champion: bool) -> MetricThreshold | None:
        absolute_only = MetricThreshold(threshold=self.threshold, greater_is_better=self.greater_is_better)
        if not against_champion:
            return absolute_only if self.threshold is not None else None
        return MetricThreshold(
            threshold=self.threshold,
            min_absolute_change=self.min_absolute_change,
            min_relative_change=self.min_relative_change,
            greater_is_better=self.greater_is_better,
        )


@dataclass(frozen=True)
class GateConfig:
    rules: dict[str, MetricRule]

    @classmethod
    def load(cls, path: Path | None = None, kind: str = CONTRACT.kind) -> GateConfig:
        """Read `path`, or the packaged gate.toml; refuse anything the gate would silently ignore, and metrics
        MLflow does not report for a `kind` of task (default: the data contract's)."""
        source = path if path is not None else DEFAULT_GATE
        try:
            document = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise GateConfigError(f"gate file {source}: cannot be read as TOML ({err})") from err
        metrics = document.get("metrics")
        if not isinstance(metrics, dict) or not metrics:
            raise GateConfigError(f"gate file {source}: needs at least one [metrics.<name>] table")
        config = cls({name: _rule(source, name, table) for name, table in metrics.items()})
        if not any(rule.threshold is not None for rule in config.rules.values()):
            raise GateConfigError(
                f"gate file {source}: no metric has an absolute `threshold`, so a first model would "
                "become champion unchecked"
            )
        if unreported := sorted(set(config.rules) - REPORTED_METRICS[kind]):
            raise GateConfigError(
                f"gate file {source}: {unreported} not reported by mlflow.models.evaluate for a {kind} task (the "
                f"data contract's); use some of {sorted(REPORTED_METRICS[kind])}"
            )
        return config

    def thresholds(self, *, against_champion: bool) -> dict[str, MetricThreshold]:
        """MetricThresholds for mlflow.validate_evaluation_results: absolute only without a champion."""
        built = {
            name: rule.to_threshold(against_champion=against_champion) for name, rule in self.rules.items()
        }
        return {name: threshold for name, threshold in built.items() if threshold is not None}


_KEYS = {field.name for field in fields(MetricRule)}


def _rule(source: object, name: str, table: object) -> MetricRule:
    where = f"gate file {source}, [metrics.{name}]"
    if not isinstance(table, dict):
        raise GateConfigError(f"{where}: must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise GateConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    if not isinstance(table.get("greater_is_better"), bool):
        raise GateConfigError(f"{where}: `greater_is_better` must be true or false")
    limits = sorted(_KEYS - {"greater_is_better"})
    if all(table.get(key) is None for key in limits):
        raise GateConfigError(f"{where}: declares none of {limits}, so it would check nothing")
    for key in limits:
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise GateConfigError(f"{where}: `{key}` must be a number, got {value!r}")
    return MetricRule(**table)
