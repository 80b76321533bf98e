"""The Azure end-to-end example: the local demo's loop on an Azure ML workspace deployed by this repo's stack."""

import sys
from pathlib import Path

# pipelines/scripts is reused, not copied: the repository root must be importable when run as a script.
_REPO = str(Path(__file__).resolve().parents[3])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)
