"""Refuse answers given on the `cookiecutter` command line before cookiecutter applies them.

Cookiecutter checks `key=value` answers against the closed lists itself, before any other hook, and fails with a
traceback (see project_hooks/command_line.py). This hook checks every answer given there with the template's own
rules, and the closed-list defaults of the user configuration that command reads (cookiecutter would warn and
drop them, and with them every default after them), and stops with one line naming the field and what it
accepts. Answers given any other way are checked when the project folder is named (mlflow_project_template.py).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from project_hooks.answers import validate_default_context, validate_given_answers
from project_hooks.command_line import cookiecutter_command, cookiecutter_options, user_default_context
from project_hooks.errors import InvalidAnswerError

# cookiecutter runs this hook in a copy of the template folder.
pins = json.loads(Path("cookiecutter.json").read_text(encoding="utf-8")).get("_pins", {})
command = cookiecutter_command(os.getppid())
options = cookiecutter_options(command) if command is not None else {}
try:
    validate_given_answers(options.get("extra_context", {}), pins)
    if command is not None and options:
        validate_default_context(*user_default_context(options))
except InvalidAnswerError as err:
    sys.exit(f"ERROR: {err}. Nothing was generated.")
