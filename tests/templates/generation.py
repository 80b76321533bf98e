"""Generating projects from templates/mlflow-project and looking at what came out."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "templates" / "mlflow-project"
HOOKS_DIR = TEMPLATE / "hooks"
VENV_BIN = Path(sys.executable).parent

TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ".txt", ".json", ""}
_KEPT_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_JINJA_MARKER = re.compile(r"\{\{|\{%|\{#|%\}")


def template_answers() -> dict[str, object]:
    """cookiecutter.json as written (choice lists, defaults that are still Jinja)."""
    return json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))


def generate(output_dir: Path, **answers: str) -> Path:
    """Generate without prompting; return the project folder."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)))


def text_files(project: Path) -> list[Path]:
    return sorted(
        path
        for path in project.rglob("*")
        if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts
    )


def leftover_jinja(project: Path) -> list[str]:
    """`file:line: text` for every Jinja marker left after rendering, `${{ }}` expressions excepted."""
    found = []
    for path in text_files(project):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _JINJA_MARKER.search(_KEPT_EXPRESSION.sub("", line)):
                found.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    return found


def run_tool(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
