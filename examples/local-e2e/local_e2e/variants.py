"""The template variants the demo can run (`make demo VARIANT=pytorch`): the answers that select each one,
its train module, the flags of a deliberately worse candidate, and the interpreter its code runs in."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Variant:
    name: str
    """Required. The value of the template's `framework` answer."""
    train_module: str
    """Required. The project module that trains (`python -m <package>.<train_module>`)."""
    worse_train_args: tuple[str, ...]
    """Required. Flags that train a candidate the packaged gate rejects."""
    answers: dict[str, str] = field(default_factory=dict)
    """Optional. Template answers besides the defaults."""
    python: Path = Path(sys.executable)
    """Optional. The interpreter of the project's steps: the demo's own, or the shared torch environment."""


VARIANTS: dict[str, Variant] = {
    # Five stumps at the default learning rate barely move off the mean: far below the gate's R2 floor.
    "scikit-learn": Variant("scikit-learn", "train", ("--n-estimators", "5", "--max-depth", "1")),
    # One epoch of two steps at a tiny learning rate: far below the gate's 90% accuracy floor.
    "pytorch": Variant(
        "pytorch",
        "torch_train",
        ("--epochs", "1", "--batch-size", "512", "--learning-rate", "0.0005"),
        {"framework": "pytorch", "task": "classification"},
        # torch is installed once, in .venv-torch (`make setup-torch`), not in the demo's environment.
        REPO / ".venv-torch" / "bin" / "python",
    ),
}
