"""The demo's options: every rule refuses a bad value with a message naming the option, value and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from local_e2e.errors import InvalidOptionError
from local_e2e.options import parse_options
from local_e2e.variants import VARIANTS


def test_defaults_put_everything_under_the_work_folder(tmp_path: Path) -> None:
    options = parse_options(["--workdir", str(tmp_path)])
    assert options.backend_store_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert options.artifacts_destination == tmp_path / "artifacts"
    assert (options.tracking_port, options.serving_port) == (5500, 5501)
    assert not options.keep_running and not options.worse_candidate


def test_worse_candidate_trains_with_its_own_weak_flags(tmp_path: Path) -> None:
    options = parse_options(["--workdir", str(tmp_path), "--worse-candidate"])
    assert options.effective_train_args == VARIANTS["scikit-learn"].worse_train_args


def test_the_pytorch_variant_trains_with_torch_train_in_the_shared_torch_environment(tmp_path: Path) -> None:
    options = parse_options(["--workdir", str(tmp_path), "--variant", "pytorch", "--worse-candidate"])
    assert options.variant.train_module == "torch_train"
    assert options.variant.answers == {"framework": "pytorch", "task": "classification"}
    assert options.variant.python.parent.parent.name == ".venv-torch"
    assert options.effective_train_args[:2] == ("--epochs", "1")


def test_an_unknown_variant_is_refused_naming_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidOptionError, match=r"--variant 'tensorflow': must be one of \['scikit-learn', 'pytorch'\]"
    ):
        parse_options(["--workdir", str(tmp_path), "--variant", "tensorflow"])


def test_train_args_are_split_like_a_shell(tmp_path: Path) -> None:
    options = parse_options(["--workdir", str(tmp_path), "--train-args", "--max-depth 2 --n-estimators 100"])
    assert options.effective_train_args == ("--max-depth", "2", "--n-estimators", "100")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--tracking-port", "80"], "--tracking-port 80: must be an unprivileged port"),
        (["--serving-port", "70000"], "--serving-port 70000"),
        (["--tracking-port", "6000", "--serving-port", "6000"], "must differ from --tracking-port"),
        (["--backend-store-uri", "file:///tmp/mlruns"], "--backend-store-uri 'file:///tmp/mlruns'"),
        (
            ["--data-file", "/nonexistent/rows.csv"],
            "--data-file '/nonexistent/rows.csv': must be an existing file",
        ),
        (["--worse-candidate", "--train-args", "--max-depth 9"], "cannot be combined with --worse-candidate"),
        (["--train-args", "--max-depth 'unclosed"], "--train-args"),
        (["--shift", "0"], "--shift 0.0: must be within (0, 1]"),
        (["--drift-psi", "-1"], "--drift-psi -1.0"),
        (["--drift-p-value", "1.5"], "--drift-p-value 1.5"),
        (["--startup-timeout", "0"], "--startup-timeout 0.0"),
    ],
)
def test_bad_values_name_option_value_and_rule(tmp_path: Path, argv: list[str], named: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_options(["--workdir", str(tmp_path), *argv])
    assert named in str(caught.value)


def test_data_file_must_be_csv_or_parquet(tmp_path: Path) -> None:
    rows = tmp_path / "rows.json"
    rows.write_text("[]")
    with pytest.raises(
        InvalidOptionError, match=r"--data-file .*rows\.json': must end in \.csv or \.parquet"
    ):
        parse_options(["--workdir", str(tmp_path), "--data-file", str(rows)])
