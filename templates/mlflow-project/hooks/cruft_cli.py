"""`cruft`, with a refused template answer reported in one line instead of a traceback.

    python templates/mlflow-project/hooks/cruft_cli.py create <platform repository> --directory templates/mlflow-project
    python -m <package>.cruft_cli update --skip-apply-ask     # a generated project's `make update-template`

cruft prints every exception as a traceback of its command-line library, and answers are checked inside it:
cookiecutter refuses a value outside a closed list (`--extra-context`, `--variables-to-update`) with a
ValueError, the template's own rules raise a FailedHookException, template syntax is an
UndefinedVariableInTemplate, and a user-configuration default outside a closed list is only a warning
(cookiecutter drops it, and every default after it). This runs the `cruft` command itself (its console-script
entry point, so every command and option is cruft's own) and turns those into one line, `ERROR: <field>=<value>
is invalid: <what it accepts>. Nothing was generated.`, and exit status 1. cruft refuses before it writes: it
generates into temporary folders, and `create` names the project folder (where the template checks every
answer) before writing any file in it. Any other exception is a fault, and keeps its traceback.

The template keeps this file in hooks/ (cookiecutter runs only the files named after its hooks there); the
post-generation hook copies it into the generated project's package, for its `make update-template`.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from importlib.metadata import entry_points

_CHOICE = re.compile(
    r"(?:Invalid default received: )?(?P<value>.*) provided for choice variable (?P<field>\S+), "
    r"but the choices are (?P<choices>\[.*\])\.?"
)


def refusal(error: BaseException) -> str:
    """The one line for a refused answer: the template's own message, or cookiecutter's in the template's words.

    >>> refusal(ValueError("tensorflow provided for choice variable framework, but the choices are ['a', 'b']."))
    "ERROR: framework='tensorflow' is invalid: must be one of ['a', 'b']. Nothing was generated."
    >>> refusal(UserWarning("Invalid default received: x provided for choice variable task, but the choices are ['r']."))
    "ERROR: task='x' (default_context in the user configuration) is invalid: must be one of ['r']. Nothing was generated."
    """
    from cookiecutter.exceptions import UndefinedVariableInTemplate

    message = " ".join(str(error).split())
    if isinstance(error, UndefinedVariableInTemplate):  # its str() carries the whole context: the Jinja error
        message = f"{error.message}: {' '.join(str(error.error.message).split())}"
    elif isinstance(error, json.JSONDecodeError):
        message = (
            f"the answers given as JSON (--extra-context, --variables-to-update) are not JSON: {message}"
        )
    choice = _CHOICE.fullmatch(message)
    if choice:
        where = " (default_context in the user configuration)" if isinstance(error, Warning) else ""
        message = (
            f"{choice['field']}={choice['value']!r}{where} is invalid: must be one of {choice['choices']}"
        )
    message = message.removeprefix("ERROR: ")
    if not message.endswith("Nothing was generated."):
        message = f"{message.rstrip('.')}. Nothing was generated."
    return f"ERROR: {message}"


def main(argv: list[str] | None = None) -> int:
    """Run `cruft <argv>`: its own exit (usage errors and all, as cruft prints them), or 1 with one line on
    stderr when the template refuses an answer."""
    from cookiecutter.exceptions import CookiecutterException

    (entry_point,) = entry_points(group="console_scripts", name="cruft")
    cruft = entry_point.load()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Invalid default received", category=UserWarning)
        try:
            cruft(args=sys.argv[1:] if argv is None else argv, prog_name="cruft")  # exits with cruft's status
        except (CookiecutterException, ValueError, UserWarning) as error:
            choice = _CHOICE.fullmatch(" ".join(str(error).split()))
            if not (isinstance(error, (CookiecutterException, json.JSONDecodeError)) or choice):
                raise  # not an answer: a fault, with its traceback
            print(refusal(error), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
