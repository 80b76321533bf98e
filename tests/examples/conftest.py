"""The examples are scripts with helper packages beside them: make those packages importable here."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL_E2E = REPO / "examples" / "local-e2e"
AZURE_E2E = REPO / "examples" / "azure-e2e"

for folder in (LOCAL_E2E, AZURE_E2E):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
