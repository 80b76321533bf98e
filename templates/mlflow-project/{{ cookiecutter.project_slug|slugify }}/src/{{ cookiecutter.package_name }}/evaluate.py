"""Step 3, evaluate: the gate. Score the candidate and the current champion on the same held-out rows.

    python -m {{ cookiecutter.package_name }}.evaluate --data artifacts/prepared --candidate artifacts/candidate \
        --output artifacts/verdict

Writes verdict.json either way and exits 1 when the candidate fails a rule, so no pipeline goes on
to register or deploy it. Without a champion (a first model), only the absolute thresholds apply.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models.evaluation import EvaluationResult
from mlflow.models.evaluation.validation import ModelValidationFailedException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.data import CONTRACT, TARGET
from {{ cookiecutter.package_name }}.gate import GateConfig
from {{ cookiecutter.package_name }}.handoff import Candidate, Verdict
from {{ cookiecutter.package_name }}.prep import TEST_FILE
from {{ cookiecutter.package_name }}.settings import CHAMPION_ALIAS, MODEL_NAME, WORKDIR
from {{ cookiecutter.package_name }}.tracking import step_run

MODEL_TYPE = CONTRACT.mlflow_model_type
# SHAP explanations cost more than the whole training run and gate nothing; a binary contract names the class
# recall and precision are about.
EVALUATOR_CONFIG = {
    "log_model_explainability": False,
    **({"pos_label": CONTRACT.positive_class} if CONTRACT.kind == "binary" else {}),
}


def champion_version(model_name: str) -> str | None:
    """The version the champion alias points at, or None when there is no champion yet."""
    try:
        # str(): the registry answers with an int or a str depending on the store.
        return str(MlflowClient().get_model_version_by_alias(model_name, CHAMPION_ALIAS).version)
    except MlflowException as err:
        if err.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return None
        raise


def score(model_uri: str, test: pd.DataFrame, run_name: str) -> EvaluationResult:
    """mlflow.models.evaluate in a nested run of its own, so the two models' metrics never mix."""
    with step_run(run_name):
        return mlflow.models.evaluate(
            model_uri,
            test,
            targets=TARGET,
            model_type=MODEL_TYPE,
            evaluator_config=EVALUATOR_CONFIG,
        )


def judge(
    candidate: Candidate, test: pd.DataFrame, gate: GateConfig, model_name: str = MODEL_NAME
) -> Verdict:
    """Decide whether `candidate` may replace the champion of `model_name`."""
    champion = champion_version(model_name)
    with step_run("evaluate"):
        candidate_result = score(candidate.model_uri, test, "candidate")
        champion_result = None
        if champion is not None:
            # A fixed version, not the alias: the verdict must name exactly what was compared.
            champion_result = score(f"models:/{model_name}/{champion}", test, f"champion-v{champion}")
        failures: list[str] = []
        try:
            mlflow.validate_evaluation_results(
                gate.thresholds(against_champion=champion is not None), candidate_result, champion_result
            )
        except ModelValidationFailedException as err:
            failures = [line.strip() for line in str(err).splitlines() if line.strip()]
        mlflow.set_tag("gate", "passed" if not failures else "rejected")
    return Verdict(
        passed=not failures,
        model_uri=candidate.model_uri,
        champion_version=champion,
        candidate_metrics=_numbers(candidate_result),
        champion_metrics=_numbers(champion_result) if champion_result else {},
        failures=failures,
    )


def _numbers(result: EvaluationResult) -> dict[str, float]:
    return {name: float(value) for name, value in result.metrics.items() if isinstance(value, int | float)}


def report(verdict: Verdict, gate: GateConfig) -> str:
    """A few lines a reviewer can read in a build log."""
    against = f"champion v{verdict.champion_version}" if verdict.champion_version else "no champion yet"
    lines = [f"gate {'PASSED' if verdict.passed else 'REJECTED'} for {verdict.model_uri} ({against})"]
    for name in gate.rules:
        candidate = verdict.candidate_metrics.get(name)
        champion = verdict.champion_metrics.get(name)
        shown = "missing" if candidate is None else f"{candidate:.4f}"
        lines.append(f"  {name}: {shown}" + ("" if champion is None else f" (champion {champion:.4f})"))
    lines += [f"  failed: {failure}" for failure in verdict.failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", type=Path, default=WORKDIR / "prepared", help="prep's output folder")
    parser.add_argument("--candidate", type=Path, default=WORKDIR / "candidate", help="train's output folder")
    parser.add_argument("--output", type=Path, default=WORKDIR / "verdict", help="where verdict.json goes")
    parser.add_argument("--gate", type=Path, default=None, help="gate file (default: the packaged gate.toml)")
    parser.add_argument("--model-name", default=MODEL_NAME, help="registered model whose champion to beat")
    args = parser.parse_args(argv)

    def step() -> int:
        gate = GateConfig.load(args.gate)
        test = pd.read_parquet(args.data / TEST_FILE)
        verdict = judge(Candidate.read(args.candidate), test, gate, args.model_name)
        verdict.write(args.output)
        print(report(verdict, gate))
        return cli.EXIT_OK if verdict.passed else cli.EXIT_FAILED

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
