"""Remove the parts of the project that the answers did not select (see project_hooks/pruning.py)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, r"""{{ template_hooks_dir }}""")

from project_hooks.pruning import prune

prune(Path.cwd(), json.loads(r"""{{ cookiecutter | jsonify }}"""))
