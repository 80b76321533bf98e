"""The answers given on the `cookiecutter` command line (`key=value`), read by the pre_prompt hook.

Cookiecutter applies command-line answers to cookiecutter.json before any template code runs, and a value
outside a closed list ends there in a ValueError traceback. The only template code that runs earlier is the
pre_prompt hook, a child process of the `cookiecutter` command that is not told the answers; on Linux it reads
its parent's command line from /proc and parses it with cookiecutter's own command (click) definition, so
it sees exactly the `key=value` pairs cookiecutter will apply. Elsewhere, or when cookiecutter runs as a
library (its API, cruft), there is no command line to read and this returns nothing; those callers get
cookiecutter's ValueError, which names the value, the field and the choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def parent_command_line(pid: int, proc: Path = Path("/proc")) -> list[str]:
    """The command line of process `pid`, or [] where /proc does not have it."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0") if part]


def cookiecutter_arguments(argv: list[str]) -> list[str] | None:
    """The arguments after the program when `argv` runs the cookiecutter CLI, else None.

    >>> cookiecutter_arguments(["/venv/bin/python3", "/venv/bin/cookiecutter", "t", "task=x"])
    ['t', 'task=x']
    >>> cookiecutter_arguments(["python", "-m", "cookiecutter", "t"])
    ['t']
    >>> cookiecutter_arguments(["python", "-m", "pytest", "-q"]) is None
    True
    """
    for index, part in enumerate(argv[:3]):
        if Path(part).name == "cookiecutter" and index > 0:
            return argv[index + 1 :]
    return None


def extra_context(arguments: list[str]) -> dict[str, str]:
    """The `key=value` answers among cookiecutter's arguments, parsed by cookiecutter's own CLI definition.

    >>> extra_context(["templates/mlflow-project", "--no-input", "-o", "out", "task=bogus", "author=A=B"])
    {'task': 'bogus', 'author': 'A=B'}
    """
    from click.exceptions import ClickException, Exit
    from cookiecutter.cli import main

    try:
        # resilient_parsing: no prompts and no callbacks (cookiecutter's own checks run later, in its process).
        context = main.make_context("cookiecutter", list(arguments), resilient_parsing=True)
    except (ClickException, Exit):  # an unparsable command line is cookiecutter's to report
        return {}
    given = context.params.get("extra_context") or {}
    if isinstance(given, Mapping):  # click ran cookiecutter's own callback, which splits the pairs
        return {str(key): str(value) for key, value in given.items()}
    return dict(pair.split("=", 1) for pair in given if "=" in pair)
