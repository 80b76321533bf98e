"""checkov custom checks (`--external-checks-dir policy/checkov_checks`): our AML rules on the ARM model."""
