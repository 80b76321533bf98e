"""Remove the parts of the project that the answers did not select (see project_hooks/pruning.py), then record
the answers and the template version in .cruft.json and add the cruft wrapper that `make update-template` runs
(see project_hooks/template_record.py)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, r"""{{ template_hooks_dir }}""")

from project_hooks.pruning import prune
from project_hooks.template_record import install_cruft_wrapper, record

answers = json.loads(r"""{{ cookiecutter | jsonify }}""")
prune(Path.cwd(), answers)
install_cruft_wrapper(Path.cwd(), answers["package_name"], Path(r"""{{ template_hooks_dir }}"""))
# The template as given to cookiecutter (it generates from a temporary copy because of the pre_prompt hook).
template = Path(r"""{{ template_invocation_dir }}""") / r"""{{ cookiecutter._template }}"""
if said := record(Path.cwd(), answers, template):
    print(said)
