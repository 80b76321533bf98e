"""The loop's stages, each one call of the generated project's own entry points (or an in-project helper).

Every stage first removes the hand-off file it is about to produce, so a file left by an earlier or an
interrupted run can never stand in for this run's result: register only ever sees this run's verdict.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from local_e2e.errors import DataValidationError, StageFailedError
from local_e2e.options import DemoOptions
from local_e2e.project import ProjectRunner
from local_e2e.workdir import WorkPaths
from local_e2e.worker import PendingStep, StepOutput

ARTIFACTS = Path("artifacts")
"""The project's own hand-off folder (settings.WORKDIR), relative to the project root."""


def _fresh(runner: ProjectRunner, name: str) -> Path:
    folder = runner.project.root / ARTIFACTS / name
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _errors(step: StepOutput) -> str:
    """The project's CLIs print one `ERROR: ...` block on stderr; fall back to the output's tail."""
    text = step.output
    if "ERROR: " in text:
        return text[text.index("ERROR: ") + len("ERROR: ") :].strip()
    return "\n".join(text.strip().splitlines()[-8:])


def _checked(step: StepOutput, stage: str) -> StepOutput:
    if step.returncode != 0:
        msg = f"exit code {step.returncode}: {_errors(step)}"
        raise StageFailedError(msg, stage=stage, log=str(step.log))
    return step


def prepare(runner: ProjectRunner, options: DemoOptions) -> str:
    """Load and validate the data (the sample, or --data-file), write the train/test split."""
    folder = _fresh(runner, "prepared")
    source = str(options.data_file) if options.data_file else "sample"
    step = runner.run_module("prep", "prep", ["--source", source, "--output", str(folder)])
    if step.returncode != 0:
        raise DataValidationError(
            f"prep refused --data-file {source!r}; nothing was trained or registered:\n  {_errors(step)}"
            if options.data_file
            else f"prep refused the bundled sample: {_errors(step)} (log: {step.log})"
        )
    rows = step.output.strip().splitlines()[-1].split(" valid rows")[0].rsplit(" ", 1)[-1]
    return f"{rows} valid rows -> {folder.relative_to(runner.project.root)}"


def train(runner: ProjectRunner, options: DemoOptions) -> dict[str, str]:
    """Fit a candidate and log it to MLflow; return candidate.json (run_id, model_uri)."""
    folder = _fresh(runner, "candidate")
    prepared = runner.project.root / ARTIFACTS / "prepared"
    args = ["--data", str(prepared), "--output", str(folder), *options.effective_train_args]
    _checked(runner.run_module("train", options.variant.train_module, args), "train")
    return json.loads((folder / "candidate.json").read_text(encoding="utf-8"))


def evaluate(runner: ProjectRunner) -> dict[str, Any]:
    """The gate: candidate vs the current champion. Exit 1 with a verdict is a rejection, not a failure."""
    folder = _fresh(runner, "verdict")
    root = runner.project.root / ARTIFACTS
    args = ["--data", str(root / "prepared"), "--candidate", str(root / "candidate"), "--output", str(folder)]
    step = runner.run_module("evaluate", "evaluate", args)
    verdict_file = folder / "verdict.json"
    if not verdict_file.is_file():  # no verdict at all: the gate itself broke
        _checked(step, "evaluate")
        msg = "exited 0 without writing verdict.json"
        raise StageFailedError(msg, stage="evaluate", log=str(step.log))
    verdict: dict[str, Any] = json.loads(verdict_file.read_text(encoding="utf-8"))
    if step.returncode not in (0, 1) or (step.returncode == 0) != verdict["passed"]:
        msg = f"exit code {step.returncode} contradicts verdict passed={verdict['passed']}"
        raise StageFailedError(msg, stage="evaluate", log=str(step.log))
    return verdict


def register(runner: ProjectRunner) -> str:
    """Register the passing candidate and move @champion to it (the project refuses a stale verdict)."""
    folder = _fresh(runner, "registered")
    root = runner.project.root / ARTIFACTS
    args = ["--verdict", str(root / "verdict"), "--output", str(folder)]
    _checked(runner.run_module("register", "register", args), "register")
    return str(json.loads((folder / "registered.json").read_text(encoding="utf-8"))["version"])


def start_batches(runner: ProjectRunner, options: DemoOptions, paths: WorkPaths) -> PendingStep:
    """Queue building an unshifted and a shifted batch from the held-out rows, and the smoke test's two
    request bodies; it needs only prep's output, so it runs while the tracking server boots."""
    shutil.rmtree(paths.batches, ignore_errors=True)
    test = runner.project.root / ARTIFACTS / "prepared" / "test.parquet"
    args = ["--package", runner.project.package, "--test", str(test), "--output", str(paths.batches),
            "--shift", str(options.shift)]  # fmt: skip
    return runner.start_helper("batches", "batches", args)


def preload(runner: ProjectRunner) -> None:
    """Have the worker import the later steps (MLflow, scikit-learn, matplotlib, scipy) while the
    tracking server boots: the two use both cores instead of one each in turn."""
    steps = ("train", "evaluate", "register", "score_batch")
    runner.worker.preload([*map(runner.target, steps), "drift_report", "scipy.stats"])


def batches_made(running: PendingStep) -> dict[str, Any]:
    step = _checked(running.wait(), "batches")
    return json.loads(step.output.strip().splitlines()[-1])


def score_batches(runner: ProjectRunner, batches: dict[str, Any], paths: WorkPaths) -> dict[str, str]:
    """Score both batches with the champion through the project's score_batch; return name -> scored file.
    Both run in the worker, so the second reuses the model the first loaded (score_batch caches it)."""
    outputs = {name: paths.batches / f"scored_{name}.parquet" for name in ("batch", "batch_shifted")}
    running = [
        runner.start_module(
            f"score-{name}", "score_batch", ["--input", batches[name], "--output", str(output)]
        )
        for name, output in outputs.items()
    ]
    for step in running:
        _checked(step.wait(), step.stage)
    return {name: str(output) for name, output in outputs.items()}


def drift_report(
    runner: ProjectRunner, options: DemoOptions, paths: WorkPaths, scored: dict[str, str]
) -> list[dict[str, Any]]:
    """Each scored batch against the training rows: statistics, plot, MLflow run, verdict."""
    shutil.rmtree(paths.drift, ignore_errors=True)
    train_rows = runner.project.root / ARTIFACTS / "prepared" / "train.parquet"
    args = ["--package", runner.project.package, "--reference", str(train_rows), "--output", str(paths.drift),
            "--psi", str(options.drift_psi), "--p-value", str(options.drift_p_value)]  # fmt: skip
    for name, path in scored.items():
        args += ["--current", f"{name}={path}"]
    step = _checked(runner.start_helper("drift", "drift_report", args).wait(), "drift")
    return [json.loads(line) for line in step.output.splitlines() if line.startswith("{")]
