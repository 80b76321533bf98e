"""Diagnostic figures logged with every training run, so a reviewer sees more than one number."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on build agents and compute clusters

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay


def feature_importance(importances: pd.Series) -> Figure:
    """Horizontal bars, most important feature on top."""
    ordered = importances.sort_values()
    figure, axes = plt.subplots(figsize=(7, max(3.0, 0.25 * len(ordered))))
    axes.barh(ordered.index, ordered.to_numpy())
    axes.set_xlabel("impurity-based importance")
    axes.set_title("Feature importance")
    figure.tight_layout()
    return figure


def predicted_vs_actual(actual: pd.Series, predicted: pd.Series) -> Figure:
    """Held-out predictions against the truth: points off the diagonal are the model's errors."""
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.scatter(actual, predicted, alpha=0.6)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], linestyle="--", color="grey")
    axes.set_xlabel("actual")
    axes.set_ylabel("predicted")
    axes.set_title("Held-out predictions")
    figure.tight_layout()
    return figure


def confusion_matrix(actual: pd.Series, predicted: pd.Series) -> Figure:
    """Held-out confusion matrix, one row per true class: off-diagonal cells are the model's mistakes."""
    figure, axes = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(actual, predicted, ax=axes)
    axes.set_title("Held-out confusion matrix")
    figure.tight_layout()
    return figure
