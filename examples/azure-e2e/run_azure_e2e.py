"""The local demo's loop on Azure ML: the workspace, registry and cluster that this repo's stack deployed.

    python examples/azure-e2e/run_azure_e2e.py [--stack dev | --outputs-file outputs.json] [--validate-only]

1. read the stack outputs (`pulumi stack output --json`, or a file) and check the mlflow/azureml-mlflow pair;
2. generate the project (promoting to the stack's registry) and validate every spec with azure.ai.ml.load_*;
3. register the training environment and submit aml/pipeline.yml (prep -> train -> gate -> register,
   tracked to the workspace with MLflow); wait for it. A rejected gate fails the job: the example stops;
4. share the workspace's @champion to the Azure ML registry (amlRegistryName);
5. release it blue/green to the managed online endpoint, invoke it with an `input_data` body;
6. deploy the batch endpoint and start a batch scoring job.

With --validate-only, steps 1-2 run and nothing touches Azure. Exit codes: 0 released; 1 a step failed
or the gate rejected; 2 bad options or outputs; 4 a rollback failed (look at the endpoint now).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from azure_e2e import flow, stack_outputs
from azure_e2e.boundary import AzureApis, AzureE2EClient
from azure_e2e.errors import AzureE2EError, IncompatibleVersionsError, StackOutputsError

from pipelines.scripts.blue_green import EXIT_CODES, Outcome
from pipelines.scripts.errors import PipelineScriptError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default=None, help="Pulumi stack to read outputs from (default: selected)")
    source.add_argument("--outputs-file", type=Path, default=None, help="`pulumi stack output --json` saved")
    parser.add_argument("--workdir", type=Path, default=Path(".mlops-azure"), help="where the project goes")
    parser.add_argument("--validate-only", action="store_true", help="generate and validate; touch no Azure")
    parser.add_argument(
        "--job-budget-minutes", type=float, default=90.0, help="how long to wait for training"
    )
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--traffic-steps", default="10,50,100", help="new colour's share at each step")
    parser.add_argument("--step-wait-seconds", type=float, default=60.0, help="dwell per traffic step")
    parser.add_argument(
        "--batch-input",
        default=None,
        help="azureml:// folder to batch-score (default: first data-lake datastore)",
    )
    return parser


@dataclass(frozen=True)
class Prepared:
    """Steps 1-2: everything checked offline before the first Azure call."""

    outputs: stack_outputs.StackOutputs
    project: flow.GeneratedProject
    validated: list[Path]
    request: Path


def main(argv: list[str] | None = None, client: AzureE2EClient | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        prepared = prepare(args)
        if args.validate_only:
            return EXIT_OK
        outputs = prepared.outputs
        azure = client or AzureE2EClient(
            subscription_id=outputs.subscription_id,
            resource_group=outputs.resource_group,
            workspace=outputs.workspace,
            tracking_uri=outputs.mlflow_tracking_uri,
        )
        return deploy(args, prepared, azure)
    except (StackOutputsError, IncompatibleVersionsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (AzureE2EError, PipelineScriptError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED


def prepare(args: argparse.Namespace) -> Prepared:
    # 1. The stack's outputs, and the MLflow / azureml-mlflow pair that works against a workspace.
    outputs = stack_outputs.load(outputs_file=args.outputs_file, stack=args.stack, cwd=Path.cwd())
    versions = flow.check_versions()
    print(
        f"workspace {outputs.workspace} in {outputs.resource_group}; registry {outputs.aml_registry}; {versions}"
    )

    # 2. The project, its specs validated by the SDK's own loaders before anything is submitted.
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    project = flow.generate_project(workdir, outputs)
    validated = flow.validate_specs(project)
    print(f"project {project.root}: {len(validated)} Azure ML specs valid")
    return Prepared(outputs, project, validated, flow.request_file(project, workdir / "request.json"))


def deploy(args: argparse.Namespace, prepared: Prepared, azure: AzureApis) -> int:
    """Steps 3-6 against `azure` (the real client, or fakes in the tests)."""
    outputs, project, request = prepared.outputs, prepared.project, prepared.request
    # 3. Train on Azure ML: the environment, then the pipeline job (the gate runs inside it).
    environment = flow.register_environment(azure, project)
    job = flow.submit_training(azure, outputs, project)
    print(f"environment {environment}; training job {job} submitted")
    flow.wait_for_training(
        azure, job, budget_seconds=args.job_budget_minutes * 60, poll_seconds=args.poll_seconds
    )

    # 4. Promote the champion, unchanged, through the Azure ML registry.
    promoted = flow.promote(azure, azure, outputs, project)
    model_uri = promoted["registryModelUri"]
    print(f"{project.slug} v{promoted['modelVersion']} promoted: {model_uri}")

    # 5. Blue/green release to the managed online endpoint, then one request in its `input_data` format.
    azure.ensure_online_endpoint(project.root / "aml" / "online" / "endpoint.yml")
    result = flow.release(
        azure,
        project,
        request,
        model_uri,
        traffic_steps=args.traffic_steps,
        step_wait_seconds=args.step_wait_seconds,
    )
    if result.outcome is not Outcome.PROMOTED:
        print(f"release {result.outcome.value} at {result.phase}: {result.error}", file=sys.stderr)
        return EXIT_CODES[result.outcome]
    answer = azure.invoke(project.endpoint, result.new_deployment, request)
    print(f"{project.endpoint}/{result.new_deployment} answered: {answer}")

    # 6. Batch scoring on the batch endpoint.
    batch_input = args.batch_input or _default_batch_input(outputs)
    azure.ensure_batch_endpoint(project.root / "aml" / "batch" / "endpoint.yml")
    batch_job = flow.run_batch(azure, outputs, project, model_uri, batch_input)
    print(f"batch scoring job {batch_job} started on {project.batch_endpoint} over {batch_input}")
    print(json.dumps({"job": job, "model": model_uri, "live": result.new_deployment, "batch_job": batch_job}))
    return EXIT_OK


def _default_batch_input(outputs: stack_outputs.StackOutputs) -> str:
    if not outputs.datastores:
        msg = "the stack exports no dataLakeDatastoreNames: pass --batch-input azureml://datastores/<ds>/paths/<folder>/"
        raise StackOutputsError(msg)
    return f"azureml://datastores/{outputs.datastores[0]}/paths/scoring/"


if __name__ == "__main__":
    sys.exit(main())
