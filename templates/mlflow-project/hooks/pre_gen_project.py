"""Refuse invalid answers before the project is written (cookiecutter then removes the output folder).

The rules live in project_hooks/ next to this script; cookiecutter runs hooks from a temporary copy,
so the folder comes from the template's Jinja extension (mlflow_project_template.py).
"""

import json
import sys

sys.path.insert(0, r"""{{ template_hooks_dir }}""")

from project_hooks.answers import validate_answers
from project_hooks.errors import InvalidAnswerError

try:
    validate_answers(json.loads(r"""{{ cookiecutter | jsonify }}"""))
except InvalidAnswerError as err:
    sys.exit(f"ERROR: {err}. Nothing was generated.")
