"""The PyTorch variant (framework=pytorch): generated once; its own tests, the two-process torchrun run and the
killed-and-resumed run included, pass in the one shared torch environment (.venv-torch, `make setup-torch`);
its training runs on the stack's GPU cluster with one process per GPU, as the stack says."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_online_deployment

from infra.gpu_sizes import GPUS_PER_NODE
from infra.naming import GPU_CLUSTER_NAME
from pipelines.scripts.aml_client import load_job_spec
from pipelines.scripts.stack_variables import MAPPING
from tests.templates.generation import REPO, generate, run_tool, template_answers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TORCH_ENV = REPO / ".venv-torch"
TORCH_LOCK = REPO / "tests" / "support" / "torch" / "uv.lock"
ANSWERS = {"framework": "pytorch", "task": "classification", "online_compute": "gpu", "deployment": "both"}


@pytest.fixture(scope="module")
def torch_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("pytorch"), **ANSWERS)


def _locked(lock: Path) -> dict[str, str]:
    return {package["name"]: package["version"] for package in tomllib.loads(lock.read_text())["package"]}


@pytest.mark.slow
def test_the_generated_pytorch_project_passes_its_own_tests(torch_project: Path) -> None:
    """One generation, one run of its whole suite in .venv-torch: torch is installed once per checkout."""
    python = TORCH_ENV / "bin" / "python"
    if not python.is_file():
        pytest.fail("torch is not installed in .venv-torch: run `make setup-torch` (make test does)")
    kept = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env = {**kept, "PATH": os.pathsep.join([str(python.parent), kept.get("PATH", "")]),
           "PYTHONPATH": str(torch_project / "src"), "OMP_NUM_THREADS": "1"}  # fmt: skip
    result = run_tool(python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests",
                      cwd=torch_project, env=env, timeout=2400)  # fmt: skip
    output = result.stdout[-6000:] + result.stderr[-4000:]
    assert result.returncode == 0, output
    assert "SKIPPED" not in result.stdout, output
    for test in ("test_both_ranks_ran_each_on_its_own_rows", "test_the_gradients_are_synchronised",
                 "test_only_rank_0_logs", "test_a_run_killed_mid_way_resumes_from_its_checkpoint",
                 "test_the_pipeline_command_trains_gates_and_registers"):  # fmt: skip
        assert re.search(rf"::{test} PASSED", result.stdout), f"{test} did not run\n{output}"


def test_the_torch_environment_shares_the_main_environments_pins() -> None:
    main, torch_env = _locked(REPO / "uv.lock"), _locked(TORCH_LOCK)
    assert {name: (version, main[name]) for name, version in torch_env.items()
            if name in main and main[name] != version} == {}  # fmt: skip
    assert torch_env["torch"] == template_answers()["_pins"]["torch"]  # type: ignore[index]
    assert torch_env["mlflow"] == "3.15.0"


def test_the_cuda_of_the_aml_image_is_the_cuda_of_the_torch_wheel(torch_project: Path) -> None:
    """The environment's base image and the torch wheel pinned from PyPI (its nvidia-*-cu12 libraries)
    agree on CUDA 12.8: a major.minor mismatch fails here, not on a GPU node."""
    image = yaml.safe_load((torch_project / "aml" / "environment.yml").read_text())["image"]
    cuda_runtime = _locked(TORCH_LOCK)["nvidia-cuda-runtime-cu12"]
    assert re.search(r"-cuda(\d+\.\d+)-", image)[1] == ".".join(cuda_runtime.split(".")[:2])  # type: ignore[index]
    conda = (torch_project / "aml" / "conda.yml").read_text()
    assert f"torch=={template_answers()['_pins']['torch']}" in conda  # type: ignore[index]


def test_the_cd_trains_on_the_stacks_gpu_cluster_with_one_process_per_gpu(torch_project: Path) -> None:
    """Azure ML starts process_count_per_instance processes on each of instance_count nodes and sets
    MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and LOCAL_RANK for each (what torch_train reads):
    https://learn.microsoft.com/en-us/azure/machine-learning/how-to-train-distributed-gpu
    The cluster name and the GPUs per node come from the stack's outputs, through the stack variables."""
    by_output = {row.output: row.name for row in MAPPING}
    cluster, gpus = by_output["gpuClusterName"], by_output["gpuClusterGpusPerNode"]
    cd = yaml.safe_load((torch_project / ".azure-pipelines" / "cd.yml").read_text())
    train = next(job for job in cd["stages"][0]["jobs"] if job.get("parameters", {}).get("name") == "train")
    overrides = {key: value for key, value in train["parameters"]["overrides"].items() if "${{" not in key}
    assert overrides == {
        "jobs.train.compute": f"azureml:$({cluster})",
        "jobs.train.distribution.process_count_per_instance": f"$({gpus})",
    }
    # What Azure ML receives: the CD's overrides with a 4-GPU stack's values, through the SDK's own loader.
    resolved = {"jobs.train.compute": f"azureml:{GPU_CLUSTER_NAME}",
                "jobs.train.distribution.process_count_per_instance": str(GPUS_PER_NODE["Standard_NC64as_T4_v3"])}  # fmt: skip
    step = load_job_spec(torch_project / "aml" / "pipeline.yml", resolved).jobs["train"]
    # The SDK keeps `azureml:` on a compute read from the file and drops it from an override: the same cluster.
    assert (step.compute.removeprefix("azureml:"), step.distribution.process_count_per_instance) == (
        GPU_CLUSTER_NAME,
        4,
    )
    assert step.resources.instance_count >= 2
    # The YAML's own default names the cluster the stack creates (infra/naming.py): a rename fails here.
    default = load_job_spec(torch_project / "aml" / "pipeline.yml").jobs["train"]
    assert default.compute.removeprefix("azureml:") == GPU_CLUSTER_NAME


def test_the_github_cd_sets_the_same_two_values(tmp_path: Path) -> None:
    project = generate(tmp_path, **ANSWERS, ci_provider="github-actions")
    cd = (project / ".github" / "workflows" / "cd.yml").read_text()
    for output, path in (("gpuClusterName", "jobs.train.compute=azureml:"),
                         ("gpuClusterGpusPerNode", "jobs.train.distribution.process_count_per_instance=")):  # fmt: skip
        variable = next(row.name for row in MAPPING if row.output == output)
        assert f"${{{{ vars.{variable} }}}}" in cd
        assert path in cd


def test_a_gpu_online_deployment_uses_a_gpu_sku_of_the_managed_endpoint_list(torch_project: Path) -> None:
    """Managed online deployments accept only the VM sizes on Microsoft's list; Standard_NC4as_T4_v3 (one T4) is
    on it: https://learn.microsoft.com/en-us/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list"""
    for name in ("blue", "green"):
        deployment = load_online_deployment(source=torch_project / "aml" / "online" / f"{name}.yml")
        assert deployment.instance_type == "Standard_NC4as_T4_v3"
        assert GPUS_PER_NODE[deployment.instance_type] == 1
