"""Every file a pipeline script reads is read as UTF-8 through cli.read_text: a file in another encoding, or one
that cannot be read, is refused in one line naming the argument, the file and the byte, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.scripts import aml_assets, aml_job_submit, blue_green, cli, publish_stack_variables
from pipelines.scripts.errors import InvalidArgumentError

LATIN1 = b'{"input_data": "caf\xe9"}\n'


@pytest.fixture
def latin1_file(tmp_path: Path) -> Path:
    path = tmp_path / "saved-as-latin1.json"
    path.write_bytes(LATIN1)
    return path


def test_read_text_names_the_argument_the_file_and_the_byte(latin1_file: Path) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        cli.read_text(latin1_file, "--request-file")
    assert str(refused.value) == (
        f"--request-file {latin1_file}: not UTF-8 text (byte 19 is 0xe9): save it as UTF-8"
    )


def test_read_text_of_a_folder_says_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        cli.read_text(tmp_path, "--outputs")
    assert str(refused.value).startswith(f"--outputs {tmp_path}: cannot be read")


def test_blue_green_refuses_a_non_utf8_request_file_before_any_call(
    latin1_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "green.yml"
    spec.write_text("name: green\n")
    argv = [
        "--subscription-id", "00000000-0000-0000-0000-000000000000", "--resource-group", "rg",
        "--workspace", "ws", "--endpoint", "ep-1", "--deployment-spec", str(spec),
        "--request-file", str(latin1_file),
    ]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        blue_green.build_parser().parse_args(argv)
    assert exited.value.code == 2
    assert "not UTF-8 text (byte 19 is 0xe9)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("read", "argument"),
    [
        (publish_stack_variables.load_outputs, "--outputs"),
        (aml_job_submit._job_document, "--job-file"),
        (lambda path: aml_assets.environment_build(path, None), "spec"),
    ],
    ids=["publish_stack_variables", "aml_job_submit", "aml_assets"],
)
def test_each_script_refuses_a_non_utf8_input_file(latin1_file: Path, read, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        read(latin1_file)
    assert str(refused.value).startswith(f"{argument} {latin1_file}: not UTF-8 text")


def test_a_job_file_that_is_not_yaml_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "job.yml"
    path.write_text("jobs: [unclosed\n")
    with pytest.raises(InvalidArgumentError) as refused:
        aml_job_submit._job_document(path)
    assert str(refused.value).startswith(f"--job-file {path}: not YAML")
