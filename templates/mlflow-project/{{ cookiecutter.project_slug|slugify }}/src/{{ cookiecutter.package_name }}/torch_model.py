"""The network and the model every scorer loads: a small CNN on the 8x8 digits, wrapped in a validating pyfunc.

MLflow's scoring server (`make serve`), Azure ML's no-code online deployments (GPU or CPU) and the gate all
call `DigitsModel.predict`: the rows are checked against the feature schema first (validated_model, the same
refusals as the scikit-learn variant), then read as one-channel 8x8 images.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import torch
from torch import nn

from {{ cookiecutter.package_name }}.validated_model import validated_features

IMAGE_SIDE = 8
"""Each row of the digits contract (contract.yml) is an IMAGE_SIDE x IMAGE_SIDE image, pixels row by row."""

CLASSES = 10
MAX_INK = 16.0
"""The largest pixel value of the digits scans: inputs are scaled to 0-1 by it."""
WEIGHTS_ARTIFACT = "weights"
"""The artifact holding the trained state dict (torch.save), loaded with weights_only=True."""


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions and a pooling step (8x8 -> 4x4), then two dense layers to the 10 digits."""

    def __init__(self, channels: int = 16, hidden: int = 64) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = IMAGE_SIDE // 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * channels * side * side, hidden),
            nn.ReLU(),
            nn.Linear(hidden, CLASSES),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


def as_images(features: pd.DataFrame | np.ndarray) -> torch.Tensor:
    """Rows of 64 pixels (row-major, schema order) -> a float tensor of shape (rows, 1, 8, 8), scaled to 0-1."""
    pixels = np.asarray(features, dtype=np.float32) / MAX_INK
    return torch.from_numpy(pixels).reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)


def device() -> torch.device:
    """The first GPU when there is one (an NC-series node or a GPU deployment), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def predict_digits(network: nn.Module, features: pd.DataFrame) -> np.ndarray:
    """The most likely digit of each row, as int64."""
    network.eval()
    with torch.no_grad():
        logits = network(as_images(features).to(next(network.parameters()).device))
    return logits.argmax(dim=1).cpu().numpy().astype(np.int64)


class DigitsModel(mlflow.pyfunc.PythonModel):
    """Loads the trained weights; validates rows with FEATURE_SCHEMA, then predicts digits."""

    def __init__(self, channels: int = 16, hidden: int = 64) -> None:
        self.channels = channels
        self.hidden = hidden

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        target = device()
        network = DigitsCNN(self.channels, self.hidden)
        state = torch.load(context.artifacts[WEIGHTS_ARTIFACT], map_location=target, weights_only=True)
        network.load_state_dict(state)
        self._network = network.to(target)

    # No type hints: MLflow would build an input signature from them (see validated_model).
    def predict(self, context, model_input, params=None) -> Any:
        return predict_digits(self._network, validated_features(model_input))
