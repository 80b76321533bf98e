"""The teardown guard: prod (and every long-lived stack) can never be destroyed by the teardown pipeline."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.scripts import cli, exit_codes, teardown_guard
from pipelines.scripts.errors import ProtectedStackError
from pipelines.scripts.teardown_guard import BUILTIN_PROTECTED, check_stack


@pytest.mark.parametrize("stack", ["pr-1", "pr-12345", "myorg/azure-mlops/pr-77"])
def test_ephemeral_pull_request_stacks_may_be_destroyed(stack):
    assert check_stack(stack) == stack.rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    "stack",
    ["prod", "PROD", "staging", "dev", "myorg/azure-mlops/prod", "pr-1-prod", "prod-pr-1", "pr_1.staging",
     "\uff30\uff32\uff2f\uff24", "production", "stg", "main"],
)  # fmt: skip
def test_protected_stacks_are_refused_naming_the_stack(stack):
    with pytest.raises(ProtectedStackError, match="--stack"):
        check_stack(stack)


@given(
    prefix=st.from_regex(r"[a-z0-9]{0,6}", fullmatch=True),
    word=st.sampled_from(sorted(BUILTIN_PROTECTED)),
    suffix=st.from_regex(r"[a-z0-9]{0,6}", fullmatch=True),
    sep=st.sampled_from(["-", "_", "."]),
    qualifier=st.sampled_from(["", "myorg/azure-mlops/"]),
)
def test_prod_can_never_be_targeted_even_with_a_permissive_pattern(prefix, word, suffix, sep, qualifier):
    stack = qualifier + sep.join(part for part in (prefix, word.upper(), suffix) if part)
    with pytest.raises(ProtectedStackError):
        # The broadest pattern a caller could pass still cannot unlock a protected word.
        check_stack(stack, allowed_pattern=r".*")


def test_extra_protected_words_add_to_the_builtin_list_and_cannot_remove_it():
    with pytest.raises(ProtectedStackError, match="uat"):
        check_stack("uat-1", extra_protected=["uat"], allowed_pattern=r".*")
    with pytest.raises(ProtectedStackError):
        check_stack("prod", extra_protected=[""], allowed_pattern=r".*")


def test_stacks_outside_the_ephemeral_pattern_are_refused():
    with pytest.raises(ProtectedStackError, match="ephemeral stack pattern"):
        check_stack("feature-x")


def test_cli_exit_codes(capsys):
    assert cli.run(teardown_guard.main, ["--stack", "pr-9"]) == exit_codes.SUCCESS
    assert cli.run(teardown_guard.main, ["--stack", "prod"]) == exit_codes.FAILED
    assert "protected environment" in capsys.readouterr().out
    assert cli.run(teardown_guard.main, ["--stack", "pr-9", "--allowed-pattern", "("]) == exit_codes.USAGE
