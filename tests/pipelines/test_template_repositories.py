"""The offline expansion reads `template: <path>@<alias>` from the repository the root pipeline declares, and refuses
what Azure DevOps refuses: an alias no repository resource declares, a file that is not in that repository.

Azure Pipelines: a template in another repository is named `<path>@<alias>`, `<path>` from that repository's root,
the alias declared under `resources.repositories` (https://learn.microsoft.com/azure/devops/pipelines/process/templates,
"Use other repositories"); an Azure Repos repository is `type: git` with `name: <project>/<repository>`, and `name`
accepts no variables (https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/resources-repositories-repository).
Variables defined in YAML, a variables template's included, are what template expressions read at compile time
(https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions,
https://learn.microsoft.com/azure/devops/pipelines/process/variables); a variable group's are not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.validation.__main__ import main as validate
from pipelines.validation.documents import load
from pipelines.validation.templates import expand, template_findings

POOLS = """\
variables:
  - name: mlops_pool_dev
    value: mdp-mlops-dev-abc123
"""
ROOT = """\
resources:
  repositories:
    - repository: platform
      type: git
      name: mlops/azure-mlops
variables:
  - group: mlops-aml-dev
  - template: pipelines/templates/pools.yml@{alias}
jobs:
  - job: train
    pool:
      ${{{{ if ne(variables.mlops_pool_dev, '') }}}}:
        name: ${{{{ variables.mlops_pool_dev }}}}
      ${{{{ else }}}}:
        vmImage: ubuntu-24.04
    steps:
      - bash: echo train
"""


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A checkout of the platform's repository holding the pools variables template."""
    root = tmp_path / "platform"
    (root / "pipelines" / "templates").mkdir(parents=True)
    (root / "pipelines" / "templates" / "pools.yml").write_text(POOLS, encoding="utf-8")
    return root


def _pipeline(tmp_path: Path, alias: str = "platform", *, edit: tuple[str, str] = ("", "")) -> Path:
    """The project's cd.yml, including the pools template through `alias`, with one `edit` (old, new) applied."""
    path = tmp_path / "project" / ".azure-pipelines" / "cd.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ROOT.format(alias=alias).replace(*edit), encoding="utf-8")
    return path


def test_a_template_from_a_declared_repository_defines_the_variables_the_pool_reads(
    tmp_path: Path, platform: Path
) -> None:
    expansion = expand(
        load(_pipeline(tmp_path)), superset=False, repositories={"mlops/azure-mlops": platform}
    )
    assert expansion.findings == [] and expansion.unresolved == []
    assert expansion.body["variables"] == [
        {"group": "mlops-aml-dev"},
        {"name": "mlops_pool_dev", "value": "mdp-mlops-dev-abc123"},
    ]
    assert expansion.body["jobs"][0]["pool"] == {"name": "mdp-mlops-dev-abc123"}


def test_an_alias_no_repository_resource_declares_is_refused(tmp_path: Path, platform: Path) -> None:
    document = load(_pipeline(tmp_path, alias="platfrom"))
    expansion = expand(document, superset=False, repositories={"mlops/azure-mlops": platform})
    assert expansion.unresolved == [
        "template 'pipelines/templates/pools.yml@platfrom': repository alias 'platfrom' is not declared in "
        "resources.repositories (declared: ['platform'])"
    ]


def test_a_file_the_repository_does_not_hold_is_refused(tmp_path: Path, platform: Path) -> None:
    (platform / "pipelines" / "templates" / "pools.yml").unlink()
    findings = template_findings(load(_pipeline(tmp_path)), {"mlops/azure-mlops": platform})
    assert any(
        "'pipelines/templates/pools.yml' is not a file in repository 'mlops/azure-mlops'" in f
        for f in findings
    )


def test_a_path_that_leaves_the_repository_is_refused(tmp_path: Path, platform: Path) -> None:
    path = _pipeline(tmp_path, edit=("pipelines/templates/pools.yml", "../project/.azure-pipelines/cd.yml"))
    expansion = expand(load(path), superset=False, repositories={"mlops/azure-mlops": platform})
    assert any("leaves repository 'mlops/azure-mlops'" in reason for reason in expansion.unresolved)


def test_a_declared_repository_without_a_local_checkout_is_reported_with_the_flag_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], platform: Path
) -> None:
    path = _pipeline(tmp_path)
    assert validate([str(path)]) == 1
    out = capsys.readouterr().out
    assert "repository 'mlops/azure-mlops' (alias 'platform') has no local checkout" in out
    assert "pass --repository mlops/azure-mlops=PATH" in out
    # The variables it would have defined are missing too: the pool reads an undefined variable.
    assert "${{ variables.mlops_pool_dev }} reads a variable no YAML variables" in out
    assert validate(["--repository", f"mlops/azure-mlops={platform}", str(path)]) == 0


def test_a_compile_time_read_of_a_variable_no_yaml_defines_is_a_finding(
    tmp_path: Path, platform: Path
) -> None:
    """Azure reads it as empty: here, the pool silently becomes the hosted image."""
    path = _pipeline(
        tmp_path, edit=("name: ${{ variables.mlops_pool_dev }}", "name: ${{ variables.mlops_pool_stagin }}")
    )
    findings = template_findings(load(path), {"mlops/azure-mlops": platform})
    assert [f for f in findings if "mlops_pool_stagin" in f] == [
        f"{tmp_path / 'project/.azure-pipelines/cd.yml'}: ${{{{ variables.mlops_pool_stagin }}}} reads a variable "
        "no YAML variables (nor variables template) defines: empty at compile time (defined: ['mlops_pool_dev'])"
    ]


def test_a_repository_flag_without_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        validate(["--repository", "mlops/azure-mlops", str(tmp_path)])
    assert exit_info.value.code == 2
