"""Jinja extension of the mlflow-project template: hook helpers' location, and answers rendered in a sandbox.

Cookiecutter renders each hook into a temporary file and runs it with the new project as working
directory, and `_repo_dir` stays relative when the template was given as a relative path. This
module is imported by cookiecutter itself (`_extensions` in cookiecutter.json, with the template
folder on sys.path), so its own location is the one absolute path the hooks can trust.

Cookiecutter also renders every answer as a Jinja template before any hook can look at it, so an answer
such as `{{ cycler.__init__.__globals__.os.popen('...') }}` would run a command on the generating machine.
The extension turns the environment into Jinja's sandbox: attribute access that leads out of the data
(dunder attributes, internals) renders as an undefined value, which cookiecutter reports as "Unable to
render variable '<answer>'" and stops, before anything is written.
"""

from pathlib import Path
from typing import Any

from jinja2 import Environment, Undefined
from jinja2.exceptions import UndefinedError
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, safe_range
from jinja2.utils import Namespace

HOOKS_DIR = Path(__file__).resolve().parent / "hooks"


class _AnswerSandbox(SandboxedEnvironment):
    """Jinja's sandbox, refusing unsafe access as an undefined value so cookiecutter names the answer."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        return self.undefined(
            f"{attribute!r} of a {type(obj).__name__!r} is out of reach: answers are text, and template "
            "syntax in them is rendered in a sandbox",
            obj=obj,
            name=attribute,
            exc=UndefinedError,
        )


def sandbox(environment: Environment) -> None:
    """Make `environment` (cookiecutter's, of whatever class) behave as Jinja's SandboxedEnvironment."""
    environment.__class__ = type(
        f"Sandboxed{type(environment).__name__}", (_AnswerSandbox, type(environment)), {}
    )
    # What SandboxedEnvironment.__init__ sets up, for an environment that was built as another class.
    environment.globals["range"] = safe_range
    environment.globals["namespace"] = Namespace
    environment.binop_table = dict(SandboxedEnvironment.default_binop_table)  # type: ignore[attr-defined]
    environment.unop_table = dict(SandboxedEnvironment.default_unop_table)  # type: ignore[attr-defined]


class HookHelpersExtension(Extension):
    """Adds the global `template_hooks_dir` (the absolute path of hooks/) and sandboxes the environment."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        sandbox(environment)
        environment.globals["template_hooks_dir"] = str(HOOKS_DIR)
