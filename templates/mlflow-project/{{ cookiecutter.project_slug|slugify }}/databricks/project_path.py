"""Make the project's package importable on a Databricks cluster, from the files the bundle deployed.

`databricks bundle deploy` syncs the repository (src/ included) to the bundle's root; Databricks runs an
entry point as a script from databricks/, so src/ is one folder up. Locally the package is installed
(`make setup`) and this changes nothing.
"""

import os
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"


def add_project_source() -> None:
    """Put the deployed src/ first on sys.path, unless the package is importable already."""
    if SOURCE.is_dir() and str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))


def export_client_secret() -> None:
    """Read the job principal's client secret from the Key Vault-backed scope into AZURE_CLIENT_SECRET.

    The job names the scope and secret (AZURE_CLIENT_SECRET_SCOPE, AZURE_CLIENT_SECRET_NAME), so the value
    never appears in a job definition; azure-identity's environment credential then signs MLflow in to Azure
    ML. Does nothing where a secret is set already or no scope is named (locally, in tests).
    """
    scope, name = os.environ.get("AZURE_CLIENT_SECRET_SCOPE"), os.environ.get("AZURE_CLIENT_SECRET_NAME")
    if "AZURE_CLIENT_SECRET" in os.environ or not (scope and name):
        return
    from databricks.sdk.runtime import dbutils  # present on every Databricks cluster

    os.environ["AZURE_CLIENT_SECRET"] = dbutils.secrets.get(scope=scope, key=name)
