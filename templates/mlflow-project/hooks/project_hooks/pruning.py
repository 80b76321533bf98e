"""Which generated paths belong to which answer, and removing the ones that were not chosen.

The template renders every optional part; the post-generation hook deletes what the answers did
not select. Ownership is declared per folder, not per file, so a pipeline file added later under
`.azure-pipelines/` or `.github/` is pruned with its provider without touching this module. A path owned by
several values of one answer (the vendored `pipelines/` scripts, used by both CI providers) stays when any
of them is selected.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

OWNED_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "ci_provider": {
        "azure-pipelines": (".azure-pipelines", "pipelines"),
        "github-actions": (".github", "pipelines"),
    },
    "deployment": {
        # Data collection and model monitoring exist for online deployments only.
        "online": ("aml/online", "aml/monitoring.yml"),
        "batch": ("aml/batch", "tests/test_aml_batch.py"),
    },
    "databricks_job": {
        "yes": ("databricks",),
    },
    # The trainer and what only it uses; evaluate, register, serve and the platform parts are shared.
    "framework": {
        "scikit-learn": (
            "src/{package_name}/train.py",
            "src/{package_name}/tune.py",
            "src/{package_name}/sweep_trial.py",
            "src/{package_name}/plots.py",
            "tests/test_train.py",
            "tests/test_tune.py",
            "tests/test_aml_sweep.py",
        ),
        "pytorch": (
            "src/{package_name}/torch_model.py",
            "src/{package_name}/torch_train.py",
            "tests/test_torch_ddp.py",
        ),
    },
}
"""answer field -> answer value -> paths (relative to the project) that exist only for that value.

`{package_name}` in a path is the answer of that name."""

# Answers that select several values at once.
COMBINED_VALUES: dict[str, dict[str, frozenset[str]]] = {
    "deployment": {"both": frozenset({"online", "batch"})},
}


def selected_values(field: str, value: str) -> frozenset[str]:
    """The values an answer selects.

    >>> sorted(selected_values("deployment", "both"))
    ['batch', 'online']
    >>> sorted(selected_values("ci_provider", "none"))
    ['none']
    """
    return COMBINED_VALUES.get(field, {}).get(value, frozenset({value}))


def unselected_paths(answers: Mapping[str, object]) -> list[str]:
    """Paths owned only by values the answers did not select, in a stable order.

    >>> base = {"deployment": "both", "framework": "scikit-learn", "package_name": "pkg"}
    >>> unselected_paths({**base, "ci_provider": "github-actions", "databricks_job": "no"})[:2]
    ['.azure-pipelines', 'databricks']
    >>> unselected_paths({**base, "ci_provider": "none", "databricks_job": "yes"})
    ['.azure-pipelines', 'pipelines', '.github', 'src/pkg/torch_model.py', 'src/pkg/torch_train.py', \
'tests/test_torch_ddp.py']
    """
    paths: list[str] = []
    for field, owners in OWNED_PATHS.items():
        chosen = selected_values(field, str(answers[field]))
        kept = {path for value, owned in owners.items() if value in chosen for path in owned}
        for value, owned in owners.items():
            if value not in chosen:
                paths.extend(path for path in owned if path not in kept and path not in paths)
    return [path.format(package_name=answers.get("package_name", "")) for path in paths]


def prune(project_dir: Path, answers: Mapping[str, object]) -> list[Path]:
    """Delete the unselected paths under `project_dir`; return what was removed.

    A path that is already absent is skipped: pruning twice is harmless.
    """
    removed: list[Path] = []
    for relative in unselected_paths(answers):
        target = project_dir / relative
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            continue
        removed.append(target)
    return removed
