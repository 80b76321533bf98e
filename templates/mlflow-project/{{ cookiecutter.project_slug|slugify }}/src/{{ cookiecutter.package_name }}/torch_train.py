"""Step 2, train: the digits CNN with DistributedDataParallel, on one process or many, resumable.

    python -m {{ cookiecutter.package_name }}.torch_train --data artifacts/prepared --output artifacts/candidate
    torchrun --nproc-per-node 2 -m {{ cookiecutter.package_name }}.torch_train --data ... --checkpoints ...

One process (no WORLD_SIZE in the environment) trains alone. Under torchrun, or an Azure ML command job
with `distribution: type: pytorch` (which sets MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and LOCAL_RANK for
every process), each process joins one process group (NCCL on GPUs, gloo on CPUs), sees its own shard of
the rows through a DistributedSampler and DDP averages the gradients. Only rank 0 logs to MLflow, writes
the model and candidate.json, and writes a checkpoint after every epoch; a restarted job (an evicted
low-priority node) resumes from that checkpoint. Each process prints one `rank-report {json}` line.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import mlflow.data
import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.data import TARGET, features_and_target
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import TEST_FILE, TRAIN_FILE
from {{ cookiecutter.package_name }}.settings import RANDOM_STATE, WORKDIR
from {{ cookiecutter.package_name }}.torch_model import (
    WEIGHTS_ARTIFACT,
    DigitsCNN,
    DigitsModel,
    as_images,
    predict_digits,
)
from {{ cookiecutter.package_name }}.tracking import log_python_model, step_run

CHECKPOINT_FILE = "checkpoint.pt"
REPORT_PREFIX = "rank-report "


class CheckpointError(ProjectError):
    """Raised when a checkpoint cannot be resumed from: unreadable, or written with other parameters."""


@dataclass(frozen=True)
class TrainParams:
    """Hyperparameters: each one is logged, and each is a pipeline and MLproject parameter."""

    epochs: int = 12
    batch_size: int = 32
    """Rows per process and step: the global batch is batch_size x the number of processes."""
    learning_rate: float = 0.003
    channels: int = 16


@dataclass(frozen=True)
class Process:
    """Where this process sits in the job: rank 0 of 1 when nothing launched it as part of a group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Process:
        env = os.environ if environ is None else environ
        if "WORLD_SIZE" not in env:
            return cls()
        return cls(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", "0")))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def launched(self) -> bool:
        return self.world_size > 1 or "WORLD_SIZE" in os.environ


def weights_digest(network: nn.Module) -> str:
    """SHA-256 of every parameter's bytes: equal digests on two ranks mean equal weights."""
    digest = hashlib.sha256()
    for tensor in network.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_checkpoint(folder: Path | None, params: TrainParams, where: torch.device) -> dict | None:
    """The checkpoint in `folder`, or None when there is none yet."""
    path = None if folder is None else folder / CHECKPOINT_FILE
    if path is None or not path.is_file():
        return None
    try:
        state = torch.load(path, map_location=where, weights_only=True)
    except (OSError, RuntimeError, EOFError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r}: cannot be read ({err})") from err
    if state.get("params") != asdict(params):
        raise CheckpointError(
            f"checkpoint {str(path)!r}: written with parameters {state.get('params')}, this run has "
            f"{asdict(params)}; resume with the same parameters or point --checkpoints at an empty folder"
        )
    return state


def save_checkpoint(folder: Path, state: dict) -> None:
    """Write atomically: a job killed while writing leaves the previous checkpoint intact."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as stream:
        torch.save(state, stream)
    Path(stream.name).replace(folder / CHECKPOINT_FILE)


def _tensors(frame: pd.DataFrame) -> TensorDataset:
    features, target = features_and_target(frame)
    return TensorDataset(as_images(features), torch.as_tensor(target.to_numpy(), dtype=torch.long))


def train(
    data_dir: Path, output_dir: Path, params: TrainParams, checkpoint_dir: Path | None = None
) -> Candidate | None:
    """Train on `data_dir`'s train split in this process's place in the group; rank 0 returns the Candidate."""
    process = Process.from_environment()
    if "OMP_NUM_THREADS" not in os.environ:
        # The network is tiny: on a CPU, handing each small batch to several threads costs more than it saves
        # (torchrun sets the same default for every worker).
        torch.set_num_threads(1)
    where = torch.device(f"cuda:{process.local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    if process.launched and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if where.type == "cuda" else "gloo")
    try:
        return _train(process, where, data_dir, output_dir, params, checkpoint_dir)
    finally:
        if process.launched and dist.is_initialized():
            dist.destroy_process_group()


def _train(
    process: Process,
    where: torch.device,
    data_dir: Path,
    output_dir: Path,
    params: TrainParams,
    checkpoint_dir: Path | None,
) -> Candidate | None:
    train_frame = pd.read_parquet(data_dir / TRAIN_FILE)
    dataset = _tensors(train_frame)
    # Every rank builds the same initial weights (DDP also broadcasts rank 0's at wrap time).
    torch.manual_seed(RANDOM_STATE)
    network = DigitsCNN(params.channels).to(where)
    optimizer = torch.optim.Adam(network.parameters(), lr=params.learning_rate)
    checkpoint = load_checkpoint(checkpoint_dir, params, where)
    start_epoch = 0
    if checkpoint is not None:
        network.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start_epoch = int(checkpoint["epoch"])
    model = DistributedDataParallel(network) if process.launched else network
    sampler = DistributedSampler(
        dataset, num_replicas=process.world_size, rank=process.rank, shuffle=True, seed=RANDOM_STATE
    )
    loader = DataLoader(dataset, batch_size=params.batch_size, sampler=sampler)
    report = {"rank": process.rank, "world_size": process.world_size, "start_epoch": start_epoch}
    with step_run("train") if process.is_main else contextlib.nullcontext():
        if process.is_main:
            _log_start(train_frame, params, process, start_epoch)
        for epoch in range(start_epoch, params.epochs):
            sampler.set_epoch(epoch)
            if "first_shard" not in report:
                report["first_shard"] = sorted(int(i) for i in sampler)
            loss = _one_epoch(model, optimizer, loader, where, report)
            if process.is_main:
                mlflow.log_metric("train_loss", loss, step=epoch)
                if checkpoint_dir is not None:
                    state = {"epoch": epoch + 1, "params": asdict(params), "model": network.state_dict(),
                             "optimizer": optimizer.state_dict()}  # fmt: skip
                    save_checkpoint(checkpoint_dir, state)
        report |= {"epochs_run": params.epochs - start_epoch, "weights": weights_digest(network)}
        print(REPORT_PREFIX + json.dumps(report), flush=True)
        if not process.is_main:
            return None
        return _finish(network, pd.read_parquet(data_dir / TEST_FILE), train_frame, output_dir)


def _one_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader, where: torch.device, report: dict
) -> float:
    model.train()
    losses = []
    for images, digits in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images.to(where)), digits.to(where))
        loss.backward()  # under DDP: the gradients are all-reduced (averaged) across ranks here
        optimizer.step()
        losses.append(loss.item())
        if "weights_after_first_step" not in report:
            report["weights_after_first_step"] = weights_digest(_unwrapped(model))
    return float(np.mean(losses))


def _unwrapped(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def _log_start(train_frame: pd.DataFrame, params: TrainParams, process: Process, start_epoch: int) -> None:
    mlflow.log_input(mlflow.data.from_pandas(train_frame, targets=TARGET, name="train"), context="training")
    mlflow.log_params(
        {
            **asdict(params),
            "model_class": DigitsCNN.__name__,
            "train_rows": len(train_frame),
            "world_size": process.world_size,
        }
    )
    # A tag, not a param: a restarted Azure ML job resumes the same run, and params cannot change.
    mlflow.set_tag("resumed_from_epoch", str(start_epoch))


def _finish(network: nn.Module, test: pd.DataFrame, train_frame: pd.DataFrame, output_dir: Path) -> Candidate:
    features, target = features_and_target(test)
    predicted = predict_digits(network, features)
    mlflow.log_metric("test_accuracy", float((predicted == target.to_numpy()).mean()))
    example = features_and_target(train_frame)[0].head(5)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp, WEIGHTS_ARTIFACT)
        torch.save(network.cpu().state_dict(), weights)
        model_uri = log_python_model(
            DigitsModel(network.features[0].out_channels),
            {WEIGHTS_ARTIFACT: str(weights)},
            example,
            predict_digits(network, example),
            extra_requirements=("torch",),
        )
    candidate = Candidate(run_id=mlflow.active_run().info.run_id, model_uri=model_uri)
    candidate.write(output_dir)
    return candidate


def add_param_arguments(parser: argparse.ArgumentParser) -> None:
    """The hyperparameter flags, shared with the pipeline command."""
    defaults = TrainParams()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--channels", type=int, default=defaults.channels)


def params_from(args: argparse.Namespace) -> TrainParams:
    return TrainParams(args.epochs, args.batch_size, args.learning_rate, args.channels)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", type=Path, default=WORKDIR / "prepared", help="prep's output folder")
    parser.add_argument(
        "--output", type=Path, default=WORKDIR / "candidate", help="where candidate.json goes"
    )
    parser.add_argument(
        "--checkpoints", type=Path, default=None, help="folder for checkpoint.pt (resumed from when present)"
    )
    add_param_arguments(parser)
    args = parser.parse_args(argv)

    def step() -> int:
        candidate = train(args.data, args.output, params_from(args), args.checkpoints)
        if candidate is not None:
            print(f"trained run {candidate.run_id}: {candidate.model_uri}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
