"""Benchmark `make demo` against MLflow's bare loop, alternating them, and print both medians and the ratio.

Usage: `python benchmarks/demo_vs_bare_mlflow.py --runs 3` (after `make setup`). Each round runs `make demo`
in a fresh work folder, then the bare loop in a fresh folder, each timed as a whole process (wall and CPU of
the process tree). The demo does more (data validation, the gate, batch scoring, drift, the lifecycle event,
a tracking server): the ratio is what that costs. Machines here are shared: quote the medians, with the load
average printed beside them.

The bare loop is the issue's definition, "train a RandomForest on diabetes, log, register, alias, `mlflow
models serve`, one prediction", written as MLflow's own quickstarts write it, on the same MLflow:
- no tracking server and no tracking URI: since MLflow 3.7 the default store is `sqlite:///mlflow.db` in the
  working folder, holding runs and the model registry
  (https://mlflow.org/docs/latest/self-hosting/architecture/backend-store); the registry quickstart logs,
  registers and loads against such a local store
  (https://mlflow.org/docs/3.3.2/ml/getting-started/registering-first-model/step1-register-model). That is
  the minimal documented loop, and what the issue's 17.5 s bare figure measured; a server is an extra the
  demo chooses (it stands for the workspace's tracking endpoint), so its cost is on the demo's side.
  `--bare-server` times the bare loop with its own `mlflow server` too (sqlite, local artifacts), the
  variant an earlier version of this script measured;
- `mlflow.sklearn.log_model(..., registered_model_name=...)`, `MlflowClient.set_registered_model_alias`;
  with `serialization_format="cloudpickle"`: MLflow 3's default, skops, refuses the forest's tree type
  unless it is trusted, and cloudpickle is the cheaper of the two documented ways out (the demo uses
  skops), so this keeps the bare side fast;
- `mlflow models serve -m models:/<name>@champion --env-manager local` (the serving docs,
  https://mlflow.org/docs/latest/genai/serving), then one POST to /invocations.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_NAME = "bare-diabetes"
START_TIMEOUT_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{url}: the server exited with {process.returncode} before answering"
            raise SystemExit(msg)
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    msg = f"{url} did not answer within {START_TIMEOUT_SECONDS} s"
    raise SystemExit(msg)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bare_loop(workdir: Path, *, with_server: bool = False) -> None:
    """MLflow's minimal loop in `workdir`: train, log, register, alias, serve, one prediction."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)  # the default store, ./mlflow.db, is relative to the working folder
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    server = None
    if with_server:
        tracking_port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(tracking_port),
             "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
             "--default-artifact-root", str(workdir / "artifacts")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        env["MLFLOW_TRACKING_URI"] = f"http://127.0.0.1:{tracking_port}"
        _wait_for(f"{env['MLFLOW_TRACKING_URI']}/health", server)
    try:
        _train_register_serve(env)
    finally:
        if server is not None:
            _stop(server)


def _train_register_serve(env: dict[str, str]) -> None:
    import mlflow
    from mlflow import MlflowClient
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import train_test_split

    if "MLFLOW_TRACKING_URI" in env:
        mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    features, target = load_diabetes(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(features, target, random_state=42)
    with mlflow.start_run():
        model = RandomForestRegressor(n_estimators=100, random_state=42).fit(x_train, y_train)
        mlflow.log_metric("rmse", mean_squared_error(y_test, model.predict(x_test)) ** 0.5)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            input_example=x_test.head(2),
            registered_model_name=MODEL_NAME,
            serialization_format="cloudpickle",
        )
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", info.registered_model_version)

    serving_port = _free_port()
    serving = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL_NAME}@champion",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(serving_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{serving_port}/ping", serving)
        body = json.dumps({"dataframe_split": x_test.head(1).to_dict(orient="split")}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{serving_port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            predictions = json.loads(answer.read())["predictions"]
        if len(predictions) != 1:
            msg = f"the served model answered {predictions!r} for one row"
            raise SystemExit(msg)
    finally:
        _stop(serving)


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the finished process tree) of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        msg = (
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
        raise SystemExit(msg)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--bare-server", action="store_true", help="the bare loop starts an mlflow server too"
    )
    parser.add_argument("--bare-loop", type=Path, help=argparse.SUPPRESS)  # one bare run, in this folder
    args = parser.parse_args()
    if args.bare_loop:
        bare_loop(args.bare_loop.resolve(), with_server=args.bare_server)
        return
    demo: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="demo-vs-bare-") as tmp:
        for index in range(args.runs):
            workdir = Path(tmp) / f"demo-{index}"
            demo.append(_timed(["make", "--no-print-directory", "demo", f"DEMO_ARGS=--workdir {workdir}"]))
            bare_dir = Path(tmp) / f"bare-{index}"
            server = ["--bare-server"] if args.bare_server else []
            bare.append(_timed([sys.executable, __file__, "--bare-loop", str(bare_dir), *server]))
    demo_wall = statistics.median(wall for wall, _ in demo)
    bare_wall = statistics.median(wall for wall, _ in bare)
    print(f"{args.runs} alternating rounds (load average {os.getloadavg()[0]:.1f})")
    print(
        f"  make demo         wall median {demo_wall:6.1f} s  CPU median "
        f"{statistics.median(cpu for _, cpu in demo):6.1f} s"
    )
    print(
        f"  MLflow bare loop{' + server' if args.bare_server else ''}  wall median {bare_wall:6.1f} s  CPU median "
        f"{statistics.median(cpu for _, cpu in bare):6.1f} s"
    )
    print(f"  ratio (wall)      {demo_wall / bare_wall:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
