"""Jinja extension of the mlflow-project template: hook helpers' location, and answers rendered in a sandbox.

Cookiecutter renders each hook into a temporary file and runs it with the new project as working
directory, so the hooks are told where the template's hooks/ folder is. Because of the pre_prompt hook,
cookiecutter generates from a temporary copy of the template, a new one each run; it appends that copy to
sys.path while it generates (cruft appends its clone), which is how it imports this module. The copy being
generated from is therefore the last sys.path entry holding this template, not this module's own location,
which is the first run's copy when a process generates twice (the API, the tests).

Cookiecutter also renders every answer as a Jinja template before any hook can look at it, so an answer
such as `{{ cycler.__init__.__globals__.os.popen('...') }}` would run a command on the generating machine.
The extension turns the environment into Jinja's sandbox: attribute access that leads out of the data
(dunder attributes, internals) renders as an undefined value, which cookiecutter reports as "Unable to
render variable '<answer>'" and stops, before anything is written.

Every answer is checked (project_hooks/answers.py) when the project folder's name is rendered: that is the
first thing cookiecutter writes, under the CLI, the API, replays and cruft alike, and a slug the operating
system refuses (too long) would otherwise end in an OSError traceback while creating the folder. The check
raises a FailedHookException, which cookiecutter's CLI reports as its one line, and nothing is written. Under
cruft, which prints every exception as a traceback, `hooks/cruft_cli.py` runs cruft and prints the line.
"""

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment, Undefined, pass_context
from jinja2.exceptions import UndefinedError
from jinja2.ext import Extension
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, safe_range
from jinja2.utils import Namespace

HOOKS_DIR = Path(__file__).resolve().parent / "hooks"
if str(HOOKS_DIR) not in sys.path:
    sys.path.insert(0, str(HOOKS_DIR))
# The working directory of the last environment created outside the template (cookiecutter renders hooks
# from inside it): where a relative template path given to cookiecutter is relative to.
_invocation_dir: list[Path] = [Path.cwd()]

from project_hooks.answers import validate_answers  # noqa: E402 (needs hooks/ on sys.path)
from project_hooks.errors import InvalidAnswerError  # noqa: E402


class InvalidAnswers(FailedHookException, ValueError):
    """An answer breaks its rule. A FailedHookException: what cookiecutter's CLI prints as one line, exit 1. A
    ValueError: what cookiecutter's API raises for a value outside a closed list, so API callers catch one type.
    """

    def __init__(self, error: InvalidAnswerError) -> None:
        super().__init__(f"ERROR: {error}. Nothing was generated.")
        self.error = error


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


def checking_answers(slugify: Callable[..., str]) -> Callable[..., str]:
    """`slugify` (which names the project folder) that first checks every answer in the rendering context."""

    @pass_context
    def checked_slugify(context: Context, value: object, *args: Any, **kwargs: Any) -> str:
        answers = context.get("cookiecutter")
        if isinstance(answers, Mapping):
            try:
                validate_answers(answers)
            except InvalidAnswerError as err:
                raise InvalidAnswers(err) from err
        return slugify(value, *args, **kwargs)

    return checked_slugify


def current_template_dir() -> Path:
    """The template folder this run generates from: the last sys.path entry that holds this template."""
    for entry in reversed(sys.path):
        folder = Path(entry)
        if (folder / "mlflow_project_template.py").is_file() and (
            folder / "hooks" / "project_hooks"
        ).is_dir():
            return folder.resolve()
    return HOOKS_DIR.parent


class HookHelpersExtension(Extension):
    """Sandboxes the environment, checks the answers before the project folder is named, and adds the globals
    `template_hooks_dir` (the absolute path of this run's hooks/) and `template_invocation_dir` (the working
    directory cookiecutter was called from, which a relative template path is relative to)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        sandbox(environment)
        environment.filters["slugify"] = checking_answers(environment.filters["slugify"])
        template = current_template_dir()
        if Path.cwd().resolve() != template:
            _invocation_dir[0] = Path.cwd()
        environment.globals["template_hooks_dir"] = str(template / "hooks")
        environment.globals["template_invocation_dir"] = str(_invocation_dir[0])
