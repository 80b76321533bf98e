"""Jinja extension of the mlflow-project template: tells the hook scripts where their helpers live.

Cookiecutter renders each hook into a temporary file and runs it with the new project as working
directory, and `_repo_dir` stays relative when the template was given as a relative path. This
module is imported by cookiecutter itself (`_extensions` in cookiecutter.json, with the template
folder on sys.path), so its own location is the one absolute path the hooks can trust.
"""

from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

HOOKS_DIR = Path(__file__).resolve().parent / "hooks"


class HookHelpersExtension(Extension):
    """Adds the global `template_hooks_dir`: the absolute path of hooks/, home of project_hooks."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_hooks_dir"] = str(HOOKS_DIR)
