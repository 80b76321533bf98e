"""Entry point the Pulumi CLI runs for `--policy-pack policy/pack`.

The rules and the ARM conversion live in the repository (policy/rules, infra/plan): its root goes on
sys.path, since the pack's environment installs only pulumi-policy.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack.aml_pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
