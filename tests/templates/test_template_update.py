"""The template update path: a generated project records where it came from, knows when it is behind, and takes
the template's newer version as a reviewable diff that keeps the user's own edits (issue 17).

Everything runs for real and offline: the template is copied into a throwaway git repository, projects are
generated with the real `cookiecutter` and `cruft` command lines, and the project's own Makefile targets run with
this environment's Python and cruft (the generated project's test suite is not run here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.templates.generation import TEMPLATE, VENV_BIN, run_tool
from tests.templates.test_template_bad_answers import BAD_CHOICES

pytestmark = pytest.mark.slow

SLUG = "diabetes-progression"
PACKAGE = "diabetes_progression"
PROJECT_README = TEMPLATE / "{{ cookiecutter.project_slug|slugify }}" / "README.md"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"TF_BUILD", "GITHUB_ACTIONS"}}
    return {**env, **_GIT_ENV, **extra}


def git(cwd: Path, *args: str) -> str:
    done = run_tool("git", "-c", "init.defaultBranch=main", *args, cwd=cwd, env=_env())
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A git repository holding templates/mlflow-project at its first commit, as the platform repo does."""
    repo = tmp_path / "platform"
    shutil.copytree(
        TEMPLATE, repo / "templates" / "mlflow-project", ignore=shutil.ignore_patterns("__pycache__")
    )
    (repo / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")
    git(repo, "init", "-q")
    commit_all(repo, "A: the template")
    return repo


def template_dir(platform: Path) -> Path:
    return platform / "templates" / "mlflow-project"


def cookiecutter(template: Path, output: Path, *answers: str, cwd: Path | None = None) -> tuple[Path, str]:
    """`cookiecutter <template> --no-input`, as users run it; the project folder and what it printed."""
    done = run_tool(
        VENV_BIN / "cookiecutter", template, "--no-input", "-o", output, *answers, cwd=cwd, env=_env()
    )
    assert done.returncode == 0, done.stderr
    return output / SLUG, done.stdout + done.stderr


def user_project(project: Path) -> None:
    """The user commits the generated project and then a change of their own at the end of the README."""
    git(project, "init", "-q")
    commit_all(project, "generated")
    with (project / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\nOur own note: the team's runbook lives in the wiki.\n")
    commit_all(project, "our edit")


def change_template_readme(platform: Path) -> str:
    """Template commit B: a new first line in the project README (far from the user's edit at its end)."""
    readme = template_dir(platform) / PROJECT_README.relative_to(TEMPLATE)
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
    readme.write_text("".join([lines[0], "\nUpdated by template commit B.\n", *lines[1:]]), encoding="utf-8")
    return commit_all(platform, "B: a template fix")


def make(project: Path, target: str, *variables: str, **env: str) -> tuple[int, str, str]:
    """A project Makefile target, with this environment's Python and cruft standing in for the project's .venv."""
    done = run_tool(
        "make", "--no-print-directory", target, f"BIN={VENV_BIN}", *variables,
        cwd=project, env=_env(PYTHONPATH=str(project / "src"), **env),
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def check_module(project: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """The check itself (`make` turns every failing recipe into its own exit status 2)."""
    done = run_tool(
        VENV_BIN / "python", "-m", f"{PACKAGE}.template_check", *args,
        cwd=project, env=_env(PYTHONPATH=str(project / "src"), **env),
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def cruft_state(project: Path) -> dict[str, object]:
    return json.loads((project / ".cruft.json").read_text(encoding="utf-8"))


def test_plain_cookiecutter_records_what_cruft_create_records(platform: Path, tmp_path: Path) -> None:
    """The hook's .cruft.json is cruft's own: same template, folder, commit and answers as `cruft create`."""
    head = git(platform, "rev-parse", "HEAD")
    # As the docs say: `cookiecutter templates/mlflow-project` in a checkout of the platform.
    project, said = cookiecutter(
        Path("templates/mlflow-project"), tmp_path / "plain", "author=Risk Team", cwd=platform
    )
    created = run_tool(
        VENV_BIN / "cruft", "create", platform, "--directory", "templates/mlflow-project", "--no-input",
        "--output-dir", tmp_path / "cruft", "--extra-context", json.dumps({"author": "Risk Team"}), env=_env(),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr

    recorded = cruft_state(project)
    assert recorded == cruft_state(tmp_path / "cruft" / SLUG)
    assert (recorded["template"], recorded["directory"], recorded["commit"]) == (
        str(platform.resolve()), "templates/mlflow-project", head,
    )  # fmt: skip
    assert recorded["context"]["cookiecutter"]["author"] == "Risk Team"  # type: ignore[index]
    assert f"at {head[:12]}" in said


def test_behind_its_template_warns_in_ci_and_the_update_keeps_the_users_edit(
    platform: Path, tmp_path: Path
) -> None:
    project, _ = cookiecutter(template_dir(platform), tmp_path / "out")
    user_project(project)
    # A platform commit outside the template folder does not make the project behind.
    (platform / "infra.txt").write_text("platform change\n", encoding="utf-8")
    commit_all(platform, "platform only")
    code, out, _ = make(project, "template-check")
    assert code == 0, out
    assert "template-check: up to date" in out

    latest = change_template_readme(platform)

    code, out, err = check_module(project)
    assert code == 1
    assert "behind its template: 1 commit(s) changed" in err
    assert "make update-template" in err
    code, _, err = make(project, "template-check")
    assert code != 0
    assert "behind its template" in err
    # CI: a warning through each provider's logging command, and the step passes.
    code, out, _ = make(project, "template-check", "WARN_ONLY=1", TF_BUILD="True")
    assert code == 0
    assert "##vso[task.logissue type=warning]template-check: behind its template: 1 commit(s)" in out
    code, out, _ = make(project, "template-check", "WARN_ONLY=1", GITHUB_ACTIONS="true")
    assert code == 0
    assert "::warning title=template-check::behind its template: 1 commit(s)" in out

    code, out, err = make(project, "update-template")
    assert code == 0, out + err

    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "Updated by template commit B." in readme
    assert "Our own note: the team's runbook lives in the wiki." in readme
    assert cruft_state(project)["commit"] == latest
    # Left for review, not committed: the README and the recorded commit are the whole change.
    assert git(project, "rev-list", "--count", "HEAD") == "2"
    changed = git(project, "diff", "HEAD", "--name-only").split()
    assert changed == [".cruft.json", "README.md"]
    commit_all(project, "take template B")
    code, out, _ = make(project, "template-check")
    assert code == 0
    assert "up to date" in out


def test_a_project_generated_at_the_latest_commit_is_up_to_date_until_the_template_is_unreachable(
    platform: Path, tmp_path: Path
) -> None:
    latest = change_template_readme(platform)
    project, _ = cookiecutter(template_dir(platform), tmp_path / "out", "ci_provider=github-actions")

    assert cruft_state(project)["commit"] == latest
    code, out, _ = check_module(project)
    assert code == 0
    assert f"up to date with {platform.resolve()} (templates/mlflow-project)" in out

    # Moved, private or offline: the check cannot tell, and CI only warns.
    shutil.rmtree(platform)
    code, _, err = check_module(project)
    assert code == 2
    assert f"cannot reach the template {platform.resolve()}" in err
    code, out, _ = make(project, "template-check", "WARN_ONLY=1", GITHUB_ACTIONS="true")
    assert code == 0
    assert "::warning title=template-check::cannot reach the template" in out


def test_the_pushed_commit_records_origin_and_an_unpushed_one_the_local_checkout(
    platform: Path, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(platform), str(origin))
    git(platform, "remote", "add", "origin", str(origin))
    git(platform, "fetch", "-q", "origin")

    pushed, _ = cookiecutter(template_dir(platform), tmp_path / "pushed")
    assert cruft_state(pushed)["template"] == str(origin)

    change_template_readme(platform)
    local, _ = cookiecutter(template_dir(platform), tmp_path / "local")
    assert cruft_state(local)["template"] == str(platform.resolve())


@pytest.mark.parametrize("state", ["uncommitted change", "no git checkout"])
def test_no_version_is_recorded_that_does_not_hold_what_was_generated(
    state: str, platform: Path, tmp_path: Path
) -> None:
    """A dirty template or one outside git records nothing, says why, and template-check cannot tell (exit 2)."""
    template = template_dir(platform)
    if state == "uncommitted change":  # untracked: git status would not list it without --untracked-files
        (template / "{{ cookiecutter.project_slug|slugify }}" / "NEW.md").write_text(
            "new\n", encoding="utf-8"
        )
    else:
        shutil.rmtree(platform / ".git")

    project, said = cookiecutter(template, tmp_path / "out")

    assert not (project / ".cruft.json").exists()
    expected = (
        f"{template} is not in a git checkout" if state == "no git checkout" else "1 uncommitted change(s)"
    )
    assert f"note: no .cruft.json written ({expected}" in said
    assert "cruft link" in said
    code, _, err = check_module(project)
    assert code == 2
    assert "no .cruft.json: the project records no template version" in err


# Every closed list, a rule of the template's own, template syntax, and a user-configuration default: what cruft
# would print as a traceback, its wrapper (hooks/cruft_cli.py, copied into generated projects) prints as one line.
CRUFT_REFUSALS = [
    *[({field: value}, field, f"must be one of {choices}") for field, value, choices in BAD_CHOICES],
    ({"package_name": "mlflow"}, "package_name", "must not shadow a module the project imports"),
    ({"endpoint_name": "9-lives"}, "endpoint_name", "3-32 letters, digits and hyphens"),
]


def _refused_in_one_line(done: subprocess.CompletedProcess[str], field: str, rule: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert output.strip().splitlines() == [output.strip()], output
    assert output.startswith(f"ERROR: {field}=")
    assert rule in output
    assert output.strip().endswith("Nothing was generated.")


def cruft_create(platform: Path, output: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """The documented way to create a project with cruft: the platform's wrapper around `cruft create`."""
    return run_tool(
        VENV_BIN / "python", template_dir(platform) / "hooks" / "cruft_cli.py", "create", platform,
        "--directory", "templates/mlflow-project", "--no-input", "--output-dir", output, *options, env=_env(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "field", "rule"), CRUFT_REFUSALS, ids=[next(iter(case[0])) for case in CRUFT_REFUSALS]
)
def test_cruft_create_refuses_in_one_line_and_writes_nothing(
    answers: dict[str, str], field: str, rule: str, platform: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"

    done = cruft_create(platform, output, "--extra-context", json.dumps(answers))

    _refused_in_one_line(done, field, rule)
    assert not output.exists()


@pytest.mark.parametrize(("field", "value", "choices"), BAD_CHOICES, ids=[case[0] for case in BAD_CHOICES])
def test_cruft_create_refuses_a_bad_user_configuration_default(
    field: str, value: str, choices: str, platform: Path, tmp_path: Path
) -> None:
    """cookiecutter only warns and drops the default inside cruft; the wrapper refuses it."""
    output = tmp_path / "out"
    config = tmp_path / "config.yaml"
    config.write_text(f"default_context:\n  {field}: {value!r}\n", encoding="utf-8")

    done = cruft_create(platform, output, "--config-file", str(config))

    _refused_in_one_line(
        done, field, f"(default_context in the user configuration) is invalid: must be one of {choices}"
    )
    assert not output.exists()


def test_cruft_create_names_the_answer_that_holds_template_syntax(platform: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    syntax = json.dumps({"author": "{{ cycler.__init__.__globals__.os.getcwd() }}"})

    done = cruft_create(platform, output, "--extra-context", syntax)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "ERROR: Unable to render variable 'author': '__init__' of a 'type' is out of reach: answers are text, "
        "and template syntax in them is rendered in a sandbox. Nothing was generated."
    )
    assert not output.exists()


def test_cruft_itself_prints_the_refusal_inside_a_traceback(platform: Path, tmp_path: Path) -> None:
    """Why the wrapper exists: plain `cruft create` shows the same refusal as a traceback."""
    done = run_tool(
        VENV_BIN / "cruft", "create", platform, "--directory", "templates/mlflow-project", "--no-input",
        "--output-dir", tmp_path / "out", "--extra-context", json.dumps({"framework": "tensorflow"}), env=_env(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "tensorflow provided for choice variable framework" in done.stderr


def test_make_update_template_refuses_every_bad_answer_in_one_line_and_leaves_the_project(
    platform: Path, tmp_path: Path
) -> None:
    project, _ = cookiecutter(template_dir(platform), tmp_path / "out")
    user_project(project)
    change_template_readme(platform)
    recorded = (project / ".cruft.json").read_bytes()

    for answers, field, rule in CRUFT_REFUSALS:
        code, out, err = make(project, "update-template", f"VARIABLES={json.dumps(answers)}")
        assert code != 0
        assert "Traceback" not in out + err
        refusals = [line for line in err.splitlines() if line.startswith("ERROR:")]
        assert len(refusals) == 1, err
        assert refusals[0].startswith(f"ERROR: {field}=")
        assert rule in refusals[0]
        assert git(project, "status", "--porcelain") == "", "the project was changed"
        assert (project / ".cruft.json").read_bytes() == recorded

    # A good answer goes through: the update applies and records it.
    code, out, err = make(project, "update-template", 'VARIABLES={"deployment": "both"}')
    assert code == 0, out + err
    assert cruft_state(project)["context"]["cookiecutter"]["deployment"] == "both"  # type: ignore[index]
    assert (project / "aml" / "batch" / "endpoint.yml").is_file()
