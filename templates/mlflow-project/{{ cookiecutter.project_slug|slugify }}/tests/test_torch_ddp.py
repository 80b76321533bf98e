"""Distributed training for real: two processes under torchrun (gloo on CPU), killed and resumed, and the
Azure ML job that runs the same code across GPU nodes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.data import FEATURE_NAMES
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.torch_train import (
    CHECKPOINT_FILE,
    REPORT_PREFIX,
    CheckpointError,
    TrainParams,
    load_checkpoint,
    save_checkpoint,
)

PROJECT = Path(__file__).resolve().parents[1]
PROCESSES = 2


def torchrun(prepared: PreparedData, output: Path, checkpoints: Path, *flags: str) -> subprocess.Popen[str]:
    """`torchrun --standalone --nproc-per-node 2 -m <package>.torch_train`."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={PROCESSES}",
        "-m", "{{ cookiecutter.package_name }}.torch_train", "--data", str(prepared.train.parent),
        "--output", str(output), "--checkpoints", str(checkpoints), *flags,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (torchrun starts each worker in a session of its own)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    below = [int(child) for child in children.read_text().split()] if children.exists() else []
    return [pid, *(descendant for child in below for descendant in process_tree(child))]


def kill_everything(process: subprocess.Popen[str]) -> None:
    """What an evicted node does to the job: every process dies at once, no cleanup, no last checkpoint."""
    tree = process_tree(process.pid)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in tree[1:]):
        assert time.monotonic() < deadline, "a worker survived SIGKILL"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


def reports(output: str) -> dict[int, dict]:
    """Each rank's `rank-report` line, by rank."""
    lines = [line.split(REPORT_PREFIX, 1)[1] for line in output.splitlines() if REPORT_PREFIX in line]
    return {report["rank"]: report for report in map(json.loads, lines)}


def train_runs(experiment_id: str) -> list[mlflow.entities.Run]:
    return MlflowClient().search_runs([experiment_id], "attributes.run_name = 'train'")


def finished(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-4000:]
    return output


@dataclass(frozen=True)
class KilledAndResumed:
    """Two torchrun launches on one checkpoint folder: the first killed mid-way, the second to the end."""

    experiment_id: str
    folder: Path
    killed_after: int
    ranks: dict[int, dict]


EPOCHS = 8


@pytest.fixture(scope="module")
def killed_and_resumed(prepared: PreparedData, tmp_path_factory: pytest.TempPathFactory) -> KilledAndResumed:
    """Launch, SIGKILL every process of the job once the first checkpoint exists, launch again. In an experiment of its own, so runs can be counted."""
    folder = tmp_path_factory.mktemp("ddp")
    flags = ("--epochs", str(EPOCHS))
    checkpoint = folder / "ckpt" / CHECKPOINT_FILE
    with pytest.MonkeyPatch.context() as patch:
        experiment_id = mlflow.create_experiment("ddp")
        patch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
        first = torchrun(prepared, folder / "out", folder / "ckpt", *flags)
        deadline = time.monotonic() + 600
        while not checkpoint.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_everything(first)
        killed_after = int(torch.load(checkpoint, weights_only=True)["epoch"])
        assert not (folder / "out" / Candidate.FILE).exists(), "the first launch was not killed mid-way"
        ranks = reports(finished(torchrun(prepared, folder / "out", folder / "ckpt", *flags)))
    return KilledAndResumed(experiment_id, folder, killed_after, ranks)


def test_both_ranks_ran_each_on_its_own_rows(
    killed_and_resumed: KilledAndResumed, prepared: PreparedData
) -> None:
    ranks = killed_and_resumed.ranks
    assert sorted(ranks) == [0, 1]
    assert {report["world_size"] for report in ranks.values()} == {PROCESSES}
    shards = [set(ranks[rank]["first_shard"]) for rank in (0, 1)]
    rows = len(pd.read_parquet(prepared.train))
    # Each rank gets different rows; the sampler repeats just enough rows to give both the same count.
    assert len(shards[0] & shards[1]) == -rows % PROCESSES
    assert shards[0] | shards[1] == set(range(rows))


def test_the_gradients_are_synchronised(killed_and_resumed: KilledAndResumed) -> None:
    """Different rows, the same weights after one optimizer step: only an all-reduce of the gradients gets there."""
    ranks = killed_and_resumed.ranks
    assert ranks[0]["weights_after_first_step"] == ranks[1]["weights_after_first_step"]
    assert ranks[0]["weights"] == ranks[1]["weights"]


def test_only_rank_0_logs(killed_and_resumed: KilledAndResumed) -> None:
    runs = train_runs(killed_and_resumed.experiment_id)
    assert len(runs) == 2, "one run per launch (the killed one and the resumed one), none from rank 1"
    assert {run.data.params["world_size"] for run in runs} == {str(PROCESSES)}
    finished_run = next(run for run in runs if run.info.status == "FINISHED")
    assert "train_loss" in finished_run.data.metrics
    assert Candidate.read(killed_and_resumed.folder / "out").run_id == finished_run.info.run_id


def test_a_run_killed_mid_way_resumes_from_its_checkpoint(killed_and_resumed: KilledAndResumed) -> None:
    done = killed_and_resumed.killed_after
    assert 0 < done < EPOCHS
    ranks = killed_and_resumed.ranks
    assert {report["start_epoch"] for report in ranks.values()} == {done}
    assert {report["epochs_run"] for report in ranks.values()} == {EPOCHS - done}
    checkpoint = killed_and_resumed.folder / "ckpt" / CHECKPOINT_FILE
    assert torch.load(checkpoint, weights_only=True)["epoch"] == EPOCHS
    tags = [run.data.tags.get("resumed_from_epoch") for run in train_runs(killed_and_resumed.experiment_id)]
    assert sorted(tags) == ["0", str(done)]


def test_a_checkpoint_of_other_parameters_is_refused(tmp_path: Path) -> None:
    written = TrainParams(epochs=3)
    save_checkpoint(tmp_path, {"epoch": 1, "params": written.__dict__, "model": {}, "optimizer": {}})
    with pytest.raises(
        CheckpointError, match=r"written with parameters .*'epochs': 3.* this run has .*'epochs': 4"
    ):
        load_checkpoint(tmp_path, TrainParams(epochs=4), torch.device("cpu"))
    assert load_checkpoint(tmp_path / "empty", written, torch.device("cpu")) is None


def test_the_logged_cnn_has_a_signature_an_example_and_predicts_digits(
    good_candidate: Candidate, prepared: PreparedData
) -> None:
    info = mlflow.models.get_model_info(good_candidate.model_uri)
    assert info.signature.inputs is None and info.signature.outputs is not None
    assert info.saved_input_example_info is not None
    assert any(line.startswith("torch==") for line in _requirements(good_candidate.model_uri))
    rows = pd.read_parquet(prepared.test)
    predicted = mlflow.pyfunc.load_model(good_candidate.model_uri).predict(rows[FEATURE_NAMES])
    assert set(predicted) <= set(range(10))
    assert (predicted == rows["digit"].to_numpy()).mean() > 0.9


def _requirements(model_uri: str) -> list[str]:
    path = mlflow.pyfunc.get_model_dependencies(model_uri, format="pip")
    return Path(path).read_text(encoding="utf-8").splitlines()


def test_the_azure_ml_train_step_runs_distributed_on_the_gpu_cluster() -> None:
    """Azure ML launches `process_count_per_instance` processes on each of `instance_count` nodes and sets
    MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and LOCAL_RANK for each, which torch_train reads (env://):
    https://learn.microsoft.com/en-us/azure/machine-learning/how-to-train-distributed-gpu"""
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from azure.ai.ml import load_job

    step = load_job(source=PROJECT / "aml" / "pipeline.yml").jobs["train"]
    assert step.distribution.type == "pytorch"
    assert step.distribution.process_count_per_instance >= 1
    assert step.resources.instance_count >= 2
    assert step.compute.removeprefix("azureml:") == "gpu-cluster"
    assert "torch_train" in step.command and "${{ '{{' }}outputs.checkpoints}}" in step.command
