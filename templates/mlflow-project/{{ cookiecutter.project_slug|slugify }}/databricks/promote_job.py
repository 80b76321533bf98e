"""The Databricks promotion job's entry point: share an approved model version into the Azure ML registry.

    python databricks/promote_job.py --version <workspace version> --registry "$AML_REGISTRY_NAME"

Runs the package's own promotion ({{ cookiecutter.package_name }}.promote), unchanged. The job that runs it
is started by a person after review, like the approval gate of the project's CD: training never promotes.
"""

from __future__ import annotations

from project_path import add_project_source, export_client_secret

add_project_source()
export_client_secret()

from {{ cookiecutter.package_name }} import promote  # noqa: E402 (needs the deployed src/ on the path)

if __name__ == "__main__":
    raise SystemExit(promote.main())
