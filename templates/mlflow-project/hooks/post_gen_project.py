"""Remove the parts of the project that the answers did not select (see project_hooks/pruning.py), then record
the answers and the template version in .cruft.json (see project_hooks/template_record.py)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, r"""{{ template_hooks_dir }}""")

from project_hooks.pruning import prune
from project_hooks.template_record import record

answers = json.loads(r"""{{ cookiecutter | jsonify }}""")
prune(Path.cwd(), answers)
if said := record(Path.cwd(), answers, Path(r"""{{ template_hooks_dir }}""").parent):
    print(said)
