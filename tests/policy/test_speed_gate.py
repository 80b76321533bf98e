"""The faster gate does the same work (issue 19): one checkov process forking each scan, the secrets scan reading
each distinct file once, the models scanned one by one, the program built from the validated configuration.

"The same work" is checked against checkov's own command line on the same files: the same failures for a planted
misconfiguration in every framework and a planted secret in every file type the repository holds, copies
included; and the repository's secrets walk loses no file but copies and files detect-secrets never reads.
Each runs checkov, so these are marked slow.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.config import PROJECT, InvalidStackConfig, parse_stack_config, project_config_values
from infra.plan.checkov_run import (
    FRAMEWORKS,
    SKIPPED_PATHS,
    CheckovServer,
    Finding,
    checkov_binary,
    run_checkov,
    with_copies,
)
from infra.plan.engine import run_program
from infra.plan.gate import MODEL_FRAMEWORKS, GateResult, _folder, _other_outputs, run_gate
from infra.plan.scan_inputs import pipeline_files
from infra.plan.stack_files import load_stack_config
from policy.checkov_server import SCAN_NICENESS, _exit_code, balanced_parts
from tests.policy.conftest import REPO, STACKS, require_checkov
from tests.policy.test_gate_bites import FAKE_AWS_KEY, _template

pytestmark = pytest.mark.slow
CHECKS = REPO / "policy" / "checkov_checks"

PLANTED_SECRETS = {
    "leak.py": f'AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY}"\n',
    "leak.yml": f"aws_access_key_id: {FAKE_AWS_KEY}\n",
    "leak.yaml": f"env:\n  AWS_ACCESS_KEY_ID: {FAKE_AWS_KEY}\n",
    "leak.json": json.dumps({"aws_access_key_id": FAKE_AWS_KEY}, indent=2) + "\n",
    "leak.md": f"Run with `AWS_ACCESS_KEY_ID={FAKE_AWS_KEY}`.\n",
    "leak.toml": f'aws_access_key_id = "{FAKE_AWS_KEY}"\n',
    "leak.txt": f"aws_access_key_id={FAKE_AWS_KEY}\n",
    "leak.sh": f"export AWS_ACCESS_KEY_ID={FAKE_AWS_KEY}\n",
    "leak.cfg": f"[aws]\naws_access_key_id = {FAKE_AWS_KEY}\n",
    "leak.ini": f"[aws]\naws_access_key_id = {FAKE_AWS_KEY}\n",
    "Dockerfile": f"FROM python:3.11-slim\nENV AWS_ACCESS_KEY_ID={FAKE_AWS_KEY}\n",
    "Makefile": f"AWS_ACCESS_KEY_ID := {FAKE_AWS_KEY}\n",
    ".env": f"AWS_ACCESS_KEY_ID={FAKE_AWS_KEY}\n",
}
"""A file of every type (extension, or name without one) the repository's secrets scan reads, each leaking a key."""
COPIES = {"copy/leak.py": "leak.py", "generated/a/leak.yml": "leak.yml", "generated/b/leak.yml": "leak.yml"}
"""Byte copies under the same name, as the generated projects hold: read once, reported for each."""
UNREAD = {
    "uv.lock": f'aws_access_key_id = "{FAKE_AWS_KEY}"\n',
    "package-lock.json": PLANTED_SECRETS["leak.json"],
}
"""Files detect-secrets drops before reading a line (lock files): the gate leaves them out."""

PLANTED_MISCONFIGURATIONS = {
    "model.json": json.dumps(
        _template(
            [
                {
                    "type": "Microsoft.Storage/storageAccounts",
                    "apiVersion": "2024-01-01",
                    "name": "stleak",
                    "location": "westeurope",
                    "kind": "StorageV2",
                    "sku": {"name": "Standard_LRS"},
                    "properties": {"supportsHttpsTrafficOnly": False, "allowSharedKeyAccess": True},
                }
            ]
        ),
        indent=2,
    ),
    "azure-pipelines.yml": "trigger: none\njobs:\n  - job: build\n    container: ubuntu:latest\n"
    "    steps:\n      - script: echo hello\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n"
    "      ACTIONS_ALLOW_UNSECURE_COMMANDS: true\n    steps:\n      - run: echo hello\n",
    "Dockerfile": "FROM python:latest\nADD . /app\n",
    "leak.py": PLANTED_SECRETS["leak.py"],
}
"""One file per framework the gate runs, each failing checks of that framework."""


def _plant(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def _checkov_cli(folder: Path, frameworks: tuple[str, ...]) -> set[tuple[str, str, str]]:
    """(framework, check ID, file) of every failure of checkov's own command line over `folder`, as the gate ran
    it before the server: one process, the whole folder, every file."""
    command = [
        str(checkov_binary(REPO)), "--directory", str(folder), "--framework", *frameworks,
        "--external-checks-dir", str(CHECKS), "--output", "json", "--compact", "--skip-download",
        "--enable-secret-scan-all-files",
    ]  # fmt: skip
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    parsed = json.loads(done.stdout)
    return {
        (document["check_type"], record["check_id"], record["file_abs_path"])
        for document in (parsed if isinstance(parsed, list) else [parsed])
        for record in document["results"]["failed_checks"]
    }


def _failed(findings: list[Any]) -> set[tuple[str, str, str]]:
    return {(f.framework, f.check_id, f.file) for f in findings if f.result == "failed"}


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateResult]:
    """The gate over the committed stacks, staged in a folder of this process's own (test workers run side by
    side; the repository scan skips every other build/ folder)."""
    require_checkov()
    scan_dir = REPO / "build" / f"scan-speed-test-{os.getpid()}"
    try:
        yield run_gate(REPO, list(STACKS), tmp_path_factory.mktemp("plan"), scan_dir)
    finally:
        shutil.rmtree(scan_dir, ignore_errors=True)


def test_a_planted_misconfiguration_fails_in_every_framework_as_checkov_alone_fails_it(
    tmp_path: Path,
) -> None:
    require_checkov()
    _plant(tmp_path, PLANTED_MISCONFIGURATIONS)
    expected = _checkov_cli(tmp_path, FRAMEWORKS)
    got = _failed(run_checkov(REPO, tmp_path, CHECKS))
    assert {framework for framework, _, _ in got} == set(FRAMEWORKS)
    assert got == expected
    # The gate scans each stack's model as one file.
    model = tmp_path / "model.json"
    with CheckovServer(REPO, CHECKS) as server:
        one_file = _failed(server.scan(model, MODEL_FRAMEWORKS).findings())
    assert one_file == {f for f in expected if f[2] == str(model)} and one_file


def test_a_planted_secret_is_found_in_every_file_type_and_copy_but_never_in_what_detect_secrets_skips(
    tmp_path: Path,
) -> None:
    require_checkov()
    _plant(
        tmp_path,
        PLANTED_SECRETS | UNREAD | {copy: PLANTED_SECRETS[source] for copy, source in COPIES.items()},
    )
    expected = _checkov_cli(tmp_path, ("secrets",))
    with CheckovServer(REPO, CHECKS, secrets_parts=3) as server:
        scan = server.scan(tmp_path, ("secrets",))
        got = _failed(scan.findings())
    assert got == expected
    assert len(scan.reports) == 3  # the files split between three forks, the findings of all of them
    flagged = {Path(file).relative_to(tmp_path).as_posix() for _, _, file in got}
    assert flagged == set(PLANTED_SECRETS) | set(COPIES)
    # Files alike in content and name were read once, their findings reported for every path.
    groups = {
        frozenset(Path(f).relative_to(tmp_path).as_posix() for f in (scanned, *copies))
        for scanned, copies in scan.secrets_files.items()
        if copies
    }
    assert groups == {
        frozenset({"leak.py", "copy/leak.py"}),
        frozenset({"leak.yml", "generated/a/leak.yml", "generated/b/leak.yml"}),
    }
    assert {Path(file).name for file in scan.secrets_unread} == set(UNREAD)


def _file_type(path: Path) -> str:
    """What detect-secrets and checkov tell files apart by: the extension (none for Makefile, .env, .gitignore),
    and the name Dockerfile."""
    return "Dockerfile" if path.name == "Dockerfile" else path.suffix


def test_every_file_type_the_repository_scan_reads_has_a_planted_secret(gate: GateResult) -> None:
    read = [Path(f) for scanned, copies in gate.secrets_files.items() for f in (scanned, *copies)]
    types, planted = {_file_type(path) for path in read}, {_file_type(Path(name)) for name in PLANTED_SECRETS}
    assert len(read) > 300
    assert types <= planted, f"plant a secret in a {sorted(types - planted)} file"


def _in_checkov_env(code: str, *args: str) -> Any:
    """What `code` prints as JSON, run by .venv-checkov's Python (as the server runs) with policy/checkov_server.py
    importable as `checkov_server` and `args` in sys.argv[1:]."""
    python = checkov_binary(REPO).with_name("python")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"}
    script = f"import json, sys; sys.path.insert(0, 'policy')\n{code}"
    done = subprocess.run(
        [str(python), "-c", script, *args], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _checkov_walk(skipped: list[str]) -> set[str]:
    """The files checkov's secrets framework itself walks in the repository with these skip patterns."""
    code = "from checkov_server import secrets_files; print(json.dumps(secrets_files(sys.argv[1], sys.argv[2:])))"
    return set(_in_checkov_env(code, str(REPO), *skipped))


def test_the_repository_secrets_scan_leaves_out_only_copies_and_files_detect_secrets_never_reads(
    gate: GateResult,
) -> None:
    """Against the files the gate's single checkov run walked before (the repository, the staged pipelines and the
    generated projects): each is read, or a copy of one read (same bytes, same name), or one of the staged
    pipeline copies (renamed byte copies of files read under their own names), or unread by detect-secrets."""
    scan_dir = gate.inputs.folder
    before = _checkov_walk([*SKIPPED_PATHS, _other_outputs(REPO, scan_dir), _folder(scan_dir / "arm")])
    read = set(gate.secrets_files)
    copied = {copy: scanned for scanned, copies in gate.secrets_files.items() for copy in copies}
    staged = {path for path in before if Path(path).is_relative_to(scan_dir / "pipelines")}
    assert before == read | set(copied) | staged | set(gate.secrets_unread)
    assert any("/generated/" in copy for copy in copied)  # the generated projects repeat each other
    for copy, scanned in copied.items():
        assert Path(copy).name == Path(scanned).name
        assert Path(copy).read_bytes() == Path(scanned).read_bytes()
    for path in staged:
        source = REPO / gate.inputs.sources[path]
        assert str(source) in read | set(copied) and source.read_bytes() == Path(path).read_bytes()
    # Lock files: never source, code, configuration or docs.
    assert str(REPO / "uv.lock") in gate.secrets_unread
    assert not {Path(path).suffix for path in gate.secrets_unread} & {
        ".py",
        ".yml",
        ".yaml",
        ".md",
        ".toml",
        "",
    }


def test_each_pipeline_is_staged_once_and_its_results_reported_for_each_byte_copy(gate: GateResult) -> None:
    copies = gate.inputs.copies
    assert any("/generated/" in copy for more in copies.values() for copy in more)  # the template's are ours
    checked = 0
    for staged, more in copies.items():
        results = {(f.check_id, f.resource, f.result) for f in gate.findings if f.file == staged}
        checked += len(results) * len(more)
        for copy in more:
            assert Path(copy).read_bytes() == Path(staged).read_bytes()
            assert {(f.check_id, f.resource, f.result) for f in gate.findings if f.file == copy} == results
    assert checked > 10  # templates of steps alone have no job for checkov to check
    # Every pipeline file of the repository and of the generated projects is staged, or a copy of one staged.
    covered = {str(REPO / source) for source in gate.inputs.sources.values()} | {
        copy for more in copies.values() for copy in more
    }
    trees = [REPO / "pipelines", *gate.inputs.generated]
    expected = {
        str(path.resolve())
        for tree in trees
        for path in pipeline_files(tree)
        if not path.name.startswith("azure-pipelines.")
    }
    assert covered == expected


def test_each_stack_model_is_scanned_once_with_its_own_resources(gate: GateResult) -> None:
    assert gate.problems == []
    assert set(gate.resources_scanned) == set(STACKS) and all(gate.resources_scanned.values())
    arm = [f for f in gate.findings if f.framework == "arm"]
    assert len(set(arm)) == len(arm) and {f.file for f in arm} == set(gate.inputs.stacks)


def test_the_program_is_built_from_the_validated_configuration_it_is_given() -> None:
    """The gate validates each stack's configuration once, before anything runs, and the run builds from it."""
    values = load_stack_config(REPO, "dev")
    validated = parse_stack_config(project_config_values(values))
    other_owner = validated.model_copy(update={"owner": "speed-gate-test"})
    plan = run_program("dev", values, validated=other_owner)
    groups = plan.of_type("azure-native:resources:ResourceGroup")
    assert [g.inputs["tags"]["owner"] for g in groups] == ["speed-gate-test"]
    assert run_program("dev", values).one("azure-native:resources:ResourceGroup").inputs["tags"]["owner"] == (
        validated.owner
    )


def test_a_bad_stack_file_stops_the_gate_before_anything_runs(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.bad.yaml").write_text(f"config:\n  {PROJECT}:environment: Not-Valid\n")
    with pytest.raises(InvalidStackConfig, match="environment"):
        run_gate(tmp_path, ["bad"], tmp_path / "plan", tmp_path / "scan")
    # No checkov (tmp_path has no .venv-checkov: starting it would have raised PlanError), no staging, no plan.
    assert not (tmp_path / "scan").exists() and not (tmp_path / "plan").exists()


def test_leaving_the_server_early_stops_its_scans(tmp_path: Path) -> None:
    require_checkov()
    _plant(tmp_path, PLANTED_MISCONFIGURATIONS)
    with pytest.raises(RuntimeError, match="given up"), CheckovServer(REPO, CHECKS) as server:
        server.scan(tmp_path)
        pid = server._process.pid  # its scans share its process group
        raise RuntimeError("given up")
    assert server._process.returncode == -signal.SIGKILL  # stopped, not waited for
    with pytest.raises(ProcessLookupError):  # and nothing it forked is left in its process group
        os.killpg(pid, 0)


def test_a_secret_in_a_file_is_reported_for_each_of_its_copies() -> None:
    finding = Finding("secrets", "CKV_SECRET_2", "AWS Access Key", "failed", "/a/x.py", "abc", ("d",), "")
    passed = dataclasses.replace(finding, result="passed", framework="arm", file="/a/y.json")
    copies = {"/a/x.py": ["/b/x.py", "/c/x.py"], "/a/y.json": ["/b/y.json"]}
    assert with_copies([finding, passed], copies, "secrets") == [
        finding,
        passed,
        dataclasses.replace(finding, file="/b/x.py"),
        dataclasses.replace(finding, file="/c/x.py"),
    ]


def test_the_secrets_split_puts_every_file_in_exactly_one_part_and_the_parts_are_about_equal(
    tmp_path: Path,
) -> None:
    sizes = [5000, 4000, 3000, 3000, 2000, 1000, 700, 10, 0]
    paths = []
    for number, size in enumerate(sizes):
        (tmp_path / f"f{number}.txt").write_text("x" * size)
        paths.append(str(tmp_path / f"f{number}.txt"))
    parts = balanced_parts(reversed(paths), 2)
    assert sorted(path for part in parts for path in part) == sorted(paths)  # each file once, none lost
    totals = [sum(Path(path).stat().st_size for path in part) for part in parts]
    assert len(parts) == 2 and abs(totals[0] - totals[1]) <= max(sizes)
    assert balanced_parts(paths, 2) == parts  # the same split whatever order the walk gave
    # Never an empty part (a fork with no file to read): fewer files than parts, fewer parts.
    assert balanced_parts(paths[:2], 4) == [[paths[0]], [paths[1]]]
    assert balanced_parts([], 2) == []


SCAN_IN_A_FORK = """
import os
import checkov_server
checkov_server.warm()
from checkov.common.parallelizer.parallel_runner import parallel_runner
loaded, forks = set(sys.modules), []
real_fork = os.fork
read, write = os.pipe()
pid = real_fork()
if pid == 0:
    os.fork = lambda: forks.append(1) or real_fork()
    code = checkov_server._run_checkov(sys.argv[2:], sys.argv[1])
    os.write(write, json.dumps([code, len(forks), sorted(set(sys.modules) - loaded)]).encode())
    os._exit(0)
os.close(write)
answer = b""
while chunk := os.read(read, 1 << 16):
    answer += chunk
os.waitpid(pid, 0)
print(json.dumps([str(parallel_runner.type), *json.loads(answer)]))
"""
"""Warm the server's way, then run one scan (sys.argv[2:], its report to sys.argv[1]) in a fork as the server
does: its exit code, what it forked and what it imported."""


def test_the_server_loads_checkov_and_the_secrets_plugins_once_and_each_scan_runs_in_one_process(
    tmp_path: Path,
) -> None:
    require_checkov()
    _plant(
        tmp_path,
        {"model.json": PLANTED_MISCONFIGURATIONS["model.json"], "leak.py": PLANTED_SECRETS["leak.py"]},
    )
    argv = [
        "--directory", str(tmp_path), "--framework", "arm", "secrets", "--external-checks-dir", str(CHECKS),
        "--output", "json", "--compact", "--skip-download", "--enable-secret-scan-all-files",
    ]  # fmt: skip
    report = tmp_path / "report.json"
    parallelism, code, forks, imported = _in_checkov_env(SCAN_IN_A_FORK, str(report), *argv)
    assert code == 1  # the planted key and storage account fail
    documents = json.loads(report.read_text())
    assert {d["check_type"] for d in documents} == {"arm", "secrets"}
    # checkov's own parallelism is off: no fork per framework, no secrets workers, no results through pipes.
    assert parallelism == "none" and forks == 0
    # Only our custom checks are loaded per scan (checkov's --external-checks-dir); checkov, its checks and
    # detect-secrets' plugins, filters and transformers were loaded once, before the fork.
    assert set(imported) == {"amlops_checks", "policy", "policy.rules", "policy.rules.aml"}


LOADS_EVERY_FILE = """
from pathlib import Path
import checkov_server
checkov_server.warm()
from checkov.common.parsers.yaml import loader
compared, differ = [], []
for path in sys.argv[1:]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    compared.append(path)
    if loader.loads(text) != loader.loads.__wrapped__(text):
        differ.append(path)
fallback = checkov_server.libyaml_loads(lambda content: ["checkov's own"])("key: [unclosed")
print(json.dumps([compared, differ, fallback]))
"""


def test_checkov_parses_every_file_the_gate_scans_through_libyaml_into_its_own_trees(
    gate: GateResult,
) -> None:
    """ARM models, pipelines, workflows, the generated projects: the server's libyaml parsing gives the trees
    (line numbers included) of checkov's pure-Python loader, and checkov's loader decides where libyaml refuses."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "*.yml", "*.yaml", "*.json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    staged = [
        p for p in gate.inputs.folder.rglob("*") if p.suffix in (".yml", ".yaml", ".json") and p.is_file()
    ]
    files = [str(REPO / path) for path in tracked if path and (REPO / path).is_file()] + [
        str(p) for p in staged
    ]
    compared, differ, fallback = _in_checkov_env(LOADS_EVERY_FILE, *files)
    assert differ == []
    assert set(gate.inputs.stacks) | set(gate.inputs.sources) <= set(compared)  # the models, staged pipelines
    assert any("/.github/workflows/" in path for path in compared) and len(compared) > 150
    assert fallback == ["checkov's own"]


FORK_ONE_SCAN = """
import gc, os
import checkov_server
def record(argv, report):
    with open(report, "w") as out:
        json.dump({"niceness": os.nice(0), "collecting": gc.isenabled(), "cwd": os.getcwd(), "argv": argv}, out)
    return 1
checkov_server._run_checkov = record
server_niceness = os.nice(0)
pid = checkov_server._fork(["--framework", "arm"], sys.argv[1], sys.argv[2])
_, status = os.waitpid(pid, 0)
with open(sys.argv[1]) as seen:
    print(json.dumps([server_niceness, os.waitstatus_to_exitcode(status), json.load(seen)]))
"""
"""One fork of the server with checkov's run replaced by a record of the conditions it ran in."""


def test_a_scan_runs_at_a_lower_priority_than_the_gate_in_its_folder_and_exits_with_checkovs_code(
    tmp_path: Path,
) -> None:
    require_checkov()
    server_niceness, code, seen = _in_checkov_env(FORK_ONE_SCAN, str(tmp_path / "report.json"), str(tmp_path))
    assert seen["niceness"] == min(server_niceness + SCAN_NICENESS, 19)  # planning goes first
    assert seen["cwd"] == str(tmp_path) and seen["argv"] == ["--framework", "arm"]
    assert seen["collecting"] is False and code == 1


def test_the_parts_of_a_scan_answer_with_one_exit_code() -> None:
    assert _exit_code([0, 0]) == 0
    assert _exit_code([0, 1]) == 1  # a check failed in one part
    assert _exit_code([1, 3, 0]) == 3  # a crash is never hidden by a failed check
