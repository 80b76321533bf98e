"""The answers given on the `cookiecutter` command line (`key=value`), read by the pre_prompt hook.

Cookiecutter applies command-line answers to cookiecutter.json before any template code runs, and a value
outside a closed list ends there in a ValueError traceback. The only template code that runs earlier is the
pre_prompt hook, a child process of the `cookiecutter` command that is not told the answers. It reads the
command line of the `cookiecutter` process above it from the operating system, as a list of arguments (never
a string split on spaces), and parses it with cookiecutter's own command (click) definition, so it sees
exactly the `key=value` pairs and the `--config-file` cookiecutter will use. How each system gives the command
line: processes.py. Cookiecutter runs hooks through the shell on Windows (`cmd.exe`), so there the cookiecutter
process is the hook's grandparent.

What the hook finds is cookiecutter's own command line or nothing: a process that merely mentions cookiecutter
among its later arguments (`cruft create ... cookiecutter`) is not it, and the search stops a few processes up.

When cookiecutter runs as a library (its API, cruft) there is no such command line and this finds nothing;
those callers get cookiecutter's ValueError, which names the value, the field and the choices.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from project_hooks.processes import ancestor_command_lines

_COOKIECUTTER_PROGRAMS = frozenset({"cookiecutter", "cookiecutter.exe", "cookiecutter-script.py"})


def cookiecutter_arguments(argv: list[str]) -> list[str] | None:
    """The arguments after the program when `argv` runs the cookiecutter CLI, else None.

    >>> cookiecutter_arguments(["/venv/bin/python3", "/venv/bin/cookiecutter", "t", "task=x"])
    ['t', 'task=x']
    >>> cookiecutter_arguments(["python", "-m", "cookiecutter", "t"])
    ['t']
    >>> cookiecutter_arguments(["C:\\\\py\\\\python.exe", "C:\\\\venv\\\\Scripts\\\\cookiecutter.exe", "t", "a=b"])
    ['t', 'a=b']
    >>> cookiecutter_arguments(["python", "-m", "pytest", "-q"]) is None
    True
    """
    for index, part in enumerate(argv[:3]):
        if index > 0 and re.split(r"[\\/]", part)[-1].lower() in _COOKIECUTTER_PROGRAMS:
            return argv[index + 1 :]
    return None


def cookiecutter_command(pid: int, platform: str = sys.platform) -> list[str] | None:
    """The arguments of the nearest process above the hook (`pid` is its parent) that runs cookiecutter."""
    for _, argv in ancestor_command_lines(pid, platform):
        arguments = cookiecutter_arguments(argv)
        if arguments is not None:
            return arguments
    return None


def cookiecutter_options(arguments: list[str]) -> dict[str, Any]:
    """Cookiecutter's parameters for `arguments`, parsed by its own CLI definition ({} if they do not parse).

    >>> options = cookiecutter_options(["t", "--no-input", "-o", "out", "task=bogus", "author=A=B"])
    >>> options["extra_context"], options["config_file"], options["default_config"]
    ({'task': 'bogus', 'author': 'A=B'}, None, False)
    """
    from click.exceptions import ClickException, Exit
    from cookiecutter.cli import main

    try:
        # resilient_parsing: no prompts and no callbacks (cookiecutter's own checks run later, in its process).
        context = main.make_context("cookiecutter", list(arguments), resilient_parsing=True)
    except (ClickException, Exit):  # an unparsable command line is cookiecutter's to report
        return {}
    params = dict(context.params)
    given = params.get("extra_context") or {}
    # Resilient parsing skips cookiecutter's callback that splits the pairs.
    if not isinstance(given, Mapping):
        given = dict(pair.split("=", 1) for pair in given if "=" in pair)
    params["extra_context"] = {str(key): str(value) for key, value in given.items()}
    return params


def user_default_context(options: Mapping[str, Any]) -> tuple[str, Mapping[str, object]]:
    """The user configuration cookiecutter reads for these options (`--config-file`, `--default-config`,
    COOKIECUTTER_CONFIG, ~/.cookiecutterrc) and its `default_context`, by cookiecutter's own reader.

    A relative path is relative to where cookiecutter was started, which the hook cannot know (cookiecutter
    runs it from inside a copy of the template): such a configuration is not read here, and cookiecutter's own
    warning ("Invalid default received: ...") stands.
    """
    from cookiecutter.config import USER_CONFIG_PATH, get_user_config
    from cookiecutter.exceptions import CookiecutterException

    given = options.get("config_file") or os.environ.get("COOKIECUTTER_CONFIG")
    source = Path(given or USER_CONFIG_PATH)
    if options.get("default_config") or not source.is_absolute():
        return str(source), {}
    try:
        # As cookiecutter reads it: a missing ~/.cookiecutterrc is no configuration, and a missing or broken
        # given file is cookiecutter's error to report.
        config = get_user_config(config_file=given, default_config=False)
    except (CookiecutterException, OSError):
        return str(source), {}
    context = config.get("default_context")
    return str(source), context if isinstance(context, Mapping) else {}
