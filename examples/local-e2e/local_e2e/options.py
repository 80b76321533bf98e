"""The demo's command line: every option declared with its default, validated once into DemoOptions."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from pathlib import Path

from local_e2e.errors import InvalidOptionError
from local_e2e.variants import VARIANTS, Variant

DEFAULT_WORKDIR = Path(".mlops")
DEFAULT_TRACKING_PORT = 5500
DEFAULT_SERVING_PORT = 5501
DEFAULT_DRIFT_PSI = 0.25
"""PSI above 0.25 is the usual "significant shift" line (0.1-0.25 "moderate")."""
DEFAULT_DRIFT_P_VALUE = 0.01
DEFAULT_SHIFT = 0.15


# Only database-backed stores hold a model registry; a plain folder or file: store has none.
_REGISTRY_SCHEMES = ("sqlite:///", "postgresql://", "mysql://", "mssql://")


@dataclass(frozen=True)
class DemoOptions:
    """What one demo run does; built by `parse_options`, so every value here has been checked."""

    workdir: Path
    tracking_port: int
    serving_port: int
    backend_store_uri: str
    artifacts_destination: Path
    data_file: Path | None
    train_args: tuple[str, ...]
    worse_candidate: bool
    keep_running: bool
    regenerate: bool
    shift: float
    drift_psi: float
    drift_p_value: float
    startup_timeout: float
    stage_timeout: float
    stop: bool
    variant: Variant = VARIANTS["scikit-learn"]

    @property
    def effective_train_args(self) -> tuple[str, ...]:
        """The flags `train` gets: the deliberately worse ones, or the user's."""
        return self.variant.worse_train_args if self.worse_candidate else self.train_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_demo.py",
        description="Run the whole MLOps loop locally: tracking server, generated project, prep, train, "
        "gate, register, serve, smoke test, batch scoring and a drift report. No Azure account needed.",
    )
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="work folder (default .mlops)")
    parser.add_argument("--tracking-port", type=int, default=DEFAULT_TRACKING_PORT, help="MLflow server port")
    parser.add_argument("--serving-port", type=int, default=DEFAULT_SERVING_PORT, help="scoring server port")
    parser.add_argument(
        "--backend-store-uri",
        default=None,
        help="MLflow backend store (default sqlite:///<workdir>/mlflow.db)",
    )
    parser.add_argument(
        "--artifacts-destination",
        type=Path,
        default=None,
        help="artifact folder (default <workdir>/artifacts)",
    )
    parser.add_argument("--data-file", type=Path, default=None, help="a .csv/.parquet file for prep")
    parser.add_argument(
        "--train-args", default="", help='extra flags for train, e.g. "--max-depth 2 --n-estimators 100"'
    )
    parser.add_argument(
        "--worse-candidate", action="store_true", help="train a deliberately worse model: the gate rejects it"
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the MLflow UI and the scoring endpoint up"
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="generate the project again even if the template is unchanged",
    )
    parser.add_argument(
        "--shift",
        type=float,
        default=DEFAULT_SHIFT,
        help="relative shift of the drifted batch (default 0.15)",
    )
    parser.add_argument(
        "--drift-psi", type=float, default=DEFAULT_DRIFT_PSI, help="PSI a drifted feature exceeds"
    )
    parser.add_argument(
        "--drift-p-value",
        type=float,
        default=DEFAULT_DRIFT_P_VALUE,
        help="KS p-value a drifted feature is under",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds a server may take to start"
    )
    parser.add_argument(
        "--stage-timeout",
        type=float,
        default=300.0,
        help="seconds one stage may take, counted from when it is queued",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop servers a --keep-running demo left up, then exit"
    )
    parser.add_argument(
        "--variant",
        default="scikit-learn",
        help=f"template variant (framework answer): one of {list(VARIANTS)}",
    )
    return parser


def parse_options(argv: list[str] | None = None) -> DemoOptions:
    """Parse and validate; an invalid value raises InvalidOptionError naming the option, value and rule."""
    args = build_parser().parse_args(argv)
    workdir = args.workdir.resolve()
    for option, port in (("--tracking-port", args.tracking_port), ("--serving-port", args.serving_port)):
        _check(1024 <= port <= 65535, option, port, "must be an unprivileged port, 1024-65535")
    _check(
        args.tracking_port != args.serving_port,
        "--serving-port",
        args.serving_port,
        "must differ from --tracking-port",
    )
    backend = args.backend_store_uri or f"sqlite:///{workdir / 'mlflow.db'}"
    _check(
        backend.startswith(_REGISTRY_SCHEMES),
        "--backend-store-uri",
        backend,
        f"must be a database URI starting with one of {list(_REGISTRY_SCHEMES)} (the model registry needs one)",
    )
    if args.data_file is not None:
        _check(args.data_file.is_file(), "--data-file", str(args.data_file), "must be an existing file")
        _check(
            args.data_file.suffix in {".csv", ".parquet"},
            "--data-file",
            str(args.data_file),
            "must end in .csv or .parquet",
        )
    try:
        train_args = tuple(shlex.split(args.train_args))
    except ValueError as err:
        msg = f"--train-args {args.train_args!r}: not a valid shell word list ({err})"
        raise InvalidOptionError(msg) from err
    _check(
        not (args.worse_candidate and train_args),
        "--train-args",
        args.train_args,
        "cannot be combined with --worse-candidate, which chooses its own training flags",
    )
    _check(
        0 < args.shift <= 1, "--shift", args.shift, "must be within (0, 1]: a relative change of the features"
    )
    _check(args.drift_psi > 0, "--drift-psi", args.drift_psi, "must be greater than 0")
    _check(0 < args.drift_p_value < 1, "--drift-p-value", args.drift_p_value, "must be within (0, 1)")
    _check(args.startup_timeout > 0, "--startup-timeout", args.startup_timeout, "must be greater than 0")
    _check(args.stage_timeout > 0, "--stage-timeout", args.stage_timeout, "must be greater than 0")
    _check(args.variant in VARIANTS, "--variant", args.variant, f"must be one of {list(VARIANTS)}")
    variant = VARIANTS[args.variant]
    _check(
        variant.python.is_file(),
        "--variant",
        args.variant,
        f"needs the interpreter {variant.python}: run `make setup-torch` (make demo VARIANT=pytorch does)",
    )
    return DemoOptions(
        workdir=workdir,
        tracking_port=args.tracking_port,
        serving_port=args.serving_port,
        backend_store_uri=backend,
        artifacts_destination=(args.artifacts_destination or workdir / "artifacts").resolve(),
        data_file=args.data_file.resolve() if args.data_file else None,
        train_args=train_args,
        worse_candidate=args.worse_candidate,
        keep_running=args.keep_running,
        regenerate=args.regenerate,
        shift=args.shift,
        drift_psi=args.drift_psi,
        drift_p_value=args.drift_p_value,
        startup_timeout=args.startup_timeout,
        stage_timeout=args.stage_timeout,
        stop=args.stop,
        variant=variant,
    )


def _check(condition: bool, option: str, value: object, rule: str) -> None:
    if not condition:
        msg = f"{option} {value!r}: {rule}"
        raise InvalidOptionError(msg)
