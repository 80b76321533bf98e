"""How the template finds the answers cookiecutter is about to apply, and how its cruft wrapper words a refusal.

The pre_prompt hook reads the command line of the `cookiecutter` process above it: /proc on Linux (run for real
here), sysctl(KERN_PROCARGS2) on macOS and the process's command line on Windows (their raw formats parsed by
pure functions, tested here; the system calls themselves need those systems). hooks/cruft_cli.py turns
cookiecutter's and the template's refusals into the hook's one line.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cruft_cli
import pytest
from cookiecutter.exceptions import UndefinedVariableInTemplate
from cookiecutter.generate import apply_overwrites_to_context
from hypothesis import given
from hypothesis import strategies as st
from jinja2.exceptions import UndefinedError
from project_hooks import processes
from project_hooks.answers import (
    CHOICES,
    DEFAULT_ANSWERS,
    validate_default_context,
    validate_given_answers,
)
from project_hooks.command_line import cookiecutter_arguments, cookiecutter_command
from project_hooks.errors import InvalidAnswerError
from project_hooks.processes import linux_command_line, parse_procargs2, split_windows_command_line

from tests.templates.generation import HOOKS_DIR

# Arguments as a process receives them: any text but NUL (which ends a C string).
ARGUMENT = st.text(st.characters(exclude_characters="\0", exclude_categories=("Cs",)), max_size=20)


def test_cruft_cli_docstring_examples_hold() -> None:
    result = doctest.testmod(cruft_cli, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_the_generated_project_carries_the_cruft_wrapper(default_project: Path) -> None:
    """`make update-template` runs the project's copy, which the post-generation hook takes from hooks/."""
    package = default_project / "src" / DEFAULT_ANSWERS["package_name"]
    assert (package / "cruft_cli.py").read_bytes() == (HOOKS_DIR / "cruft_cli.py").read_bytes()


# The examples of https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
# ("Parsing C command-line arguments"), after the program name.
MICROSOFT_EXAMPLES = [
    ('"a b c" d e', ["a b c", "d", "e"]),
    ('"ab\\"c" "\\\\" d', ['ab"c', "\\", "d"]),
    ('a\\\\\\b d"e f"g h', ["a\\\\\\b", "de fg", "h"]),
    ('a\\\\\\"b c d', ['a\\"b', "c", "d"]),
    ('a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]),
]


@pytest.mark.parametrize(("line", "expected"), MICROSOFT_EXAMPLES)
def test_a_windows_command_line_splits_as_microsofts_c_runtime_documents(
    line: str, expected: list[str]
) -> None:
    """https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments: the table of examples."""
    assert split_windows_command_line(f"prog.exe {line}") == ["prog.exe", *expected]


@given(st.lists(ARGUMENT, max_size=6))
def test_a_windows_command_line_built_by_python_splits_back_into_its_arguments(arguments: list[str]) -> None:
    """subprocess.list2cmdline quotes by the same documented rules: whatever it builds splits back exactly."""
    program = "C:\\Program Files\\Python311\\python.exe"
    line = subprocess.list2cmdline([program, *arguments])
    assert split_windows_command_line(line) == [program, *arguments]


@given(
    st.lists(ARGUMENT, min_size=1, max_size=6).filter(lambda argv: argv[0] != ""),
    st.integers(min_value=1, max_value=16),
    st.lists(ARGUMENT.filter(bool), max_size=3),
)
def test_a_macos_procargs2_buffer_gives_the_arguments_not_the_path_or_environment(
    argv: list[str], padding: int, environment: list[str]
) -> None:
    """KERN_PROCARGS2: argc, the executable's path, NUL padding, the arguments, then the environment."""
    raw = b"".join(
        [
            len(argv).to_bytes(4, "little"),
            b"/usr/local/bin/python3.12",
            b"\0" * padding,
            *(argument.encode("utf-8") + b"\0" for argument in argv),
            *(f"{variable}\0".encode() for variable in environment),
        ]
    )
    assert parse_procargs2(raw, "little") == argv


@pytest.mark.parametrize(
    ("argv", "arguments"),
    [
        (["/venv/bin/python3", "/venv/bin/cookiecutter", "t", "a b=c d"], ["t", "a b=c d"]),
        (["python", "-m", "cookiecutter", "t"], ["t"]),
        (["C:\\Python\\python.exe", "C:\\venv\\Scripts\\cookiecutter.exe", "t"], ["t"]),
        (["C:\\Python\\python.exe", "C:\\venv\\Scripts\\Cookiecutter.EXE", "t"], ["t"]),
        (["C:\\Python\\python.exe", "C:\\venv\\Scripts\\cookiecutter-script.py", "t"], ["t"]),
        (["/venv/bin/python3", "/venv/bin/cruft", "create", "cookiecutter"], None),
        (["cookiecutter", "t"], None),  # argv[0] alone is the program, whatever it is called
        ([], None),
    ],
)
def test_the_cookiecutter_program_is_recognised_however_it_was_started(
    argv: list[str], arguments: list[str] | None
) -> None:
    assert cookiecutter_arguments(argv) == arguments


def test_on_linux_the_command_line_is_read_from_proc_argument_by_argument() -> None:
    program = "import sys; print('ready', flush=True); sys.stdin.read()"
    argv = [sys.executable, "-c", program, "a b", "", "framework=tensor flow", "-o", ""]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"  # exec done: /proc shows the new program's arguments
        # /proc/<pid>/cmdline keeps each argument whole, spaces included, and empty ones in place.
        assert linux_command_line(child.pid) == argv
        child.communicate(b"")
    assert linux_command_line(child.pid) == []  # gone


def _fake_process_table(
    table: dict[int, tuple[str, int]],
) -> tuple[Callable[[int], list[str]], Callable[[int], int | None]]:
    """A Windows process table: pid -> (command line, parent pid); only the system calls are replaced."""

    def read(pid: int) -> list[str]:
        return split_windows_command_line(table[pid][0]) if pid in table else []

    def parent(pid: int) -> int | None:
        return table[pid][1] if pid in table else None

    return read, parent


def test_on_windows_the_hook_finds_cookiecutter_behind_the_shell_with_a_fake_process_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cookiecutter runs hooks through cmd.exe on Windows: the hook's parent is the shell, cookiecutter is above."""
    table = {
        30: ('C:\\Windows\\system32\\cmd.exe /c "C:\\venv\\Scripts\\python.exe C:\\Temp\\pre_prompt.py"', 20),
        20: ('"C:\\Py\\python.exe" "C:\\venv\\Scripts\\cookiecutter.exe" t "author=Risk Team" task=x', 10),
        10: ('"C:\\venv\\Scripts\\cookiecutter.exe" t "author=Risk Team" task=x', 1),
    }
    monkeypatch.setitem(processes._PLATFORMS, "win32", _fake_process_table(table))
    assert cookiecutter_command(30, "win32") == ["t", "author=Risk Team", "task=x"]


def test_on_windows_the_search_stops_a_few_processes_up_with_a_fake_process_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An API caller's hook: no cookiecutter command in reach, even if one ran further up (not this run's)."""
    table = {
        40: ("cmd.exe /c python pre_prompt.py", 30),
        30: ("python -m pytest -q", 20),
        20: ("python -m tox", 10),
        10: ("python C:\\venv\\Scripts\\cookiecutter.exe t task=x", 1),
    }
    monkeypatch.setitem(processes._PLATFORMS, "win32", _fake_process_table(table))
    assert cookiecutter_command(40, "win32") is None


def test_where_the_process_table_cannot_be_read_nothing_is_found() -> None:
    assert cookiecutter_command(1, "sunos5") is None
    if not sys.platform.startswith("win"):  # no Windows DLLs here: ctypes.WinDLL does not exist
        assert cookiecutter_command(1, "win32") is None


@given(st.sampled_from(sorted(CHOICES)), st.text(max_size=30))
def test_a_value_outside_a_closed_list_is_refused_by_every_check(field: str, value: str) -> None:
    """Given on the command line or as a user-configuration default, the message names field, value and choices."""
    if value in CHOICES[field]:
        validate_given_answers({field: value}, {})
        validate_default_context("cfg", {field: value})
        return
    rule = f"must be one of {list(CHOICES[field])}"
    with pytest.raises(InvalidAnswerError) as given_on_command_line:
        validate_given_answers({field: value}, {})
    assert str(given_on_command_line.value) == f"{field}={value!r} is invalid: {rule}"
    with pytest.raises(InvalidAnswerError) as configured:
        validate_default_context("/home/u/.cookiecutterrc", {field: value})
    assert (
        str(configured.value)
        == f"{field}={value!r} (default_context in /home/u/.cookiecutterrc) is invalid: {rule}"
    )


def test_defaults_for_other_templates_are_left_to_them() -> None:
    """A user configuration serves every template: only this template's closed lists are checked up front
    (anything else it uses is checked with the other answers, when the project folder is named)."""
    validate_default_context("cfg", {"full_name": "A", "license": "MIT", "open_source_license": "GPL"})


@given(
    st.sampled_from(sorted(CHOICES)),
    st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=30),
)
def test_the_cruft_wrapper_words_cookiecutters_refusal_as_the_hook_does(field: str, value: str) -> None:
    """cookiecutter's ValueError (--extra-context, --variables-to-update) becomes the hook's very line."""
    if value in CHOICES[field]:
        return
    context = {name: list(choices) for name, choices in CHOICES.items()}
    with pytest.raises(ValueError, match="provided for choice variable") as raised:
        apply_overwrites_to_context(context, {field: value})
    hook_line = f"ERROR: {InvalidAnswerError(field, value, f'must be one of {list(CHOICES[field])}')}. Nothing was generated."
    assert cruft_cli.refusal(raised.value) == hook_line


def test_the_cruft_wrapper_keeps_the_templates_own_line_and_names_the_answer_in_template_syntax() -> None:
    own = ValueError(
        "ERROR: package_name='mlflow' is invalid: must not shadow a module. Nothing was generated."
    )
    assert cruft_cli.refusal(own) == str(own)
    undefined = UndefinedVariableInTemplate(
        "Unable to render variable 'author'",
        UndefinedError("'__init__' is out of reach"),
        {"big": "context" * 99},
    )
    assert cruft_cli.refusal(undefined) == (
        "ERROR: Unable to render variable 'author': '__init__' is out of reach. Nothing was generated."
    )


class _FakeCruftEntryPoint:
    """The `cruft` console-script entry point, replaced by a command that fails as cruft's internals would."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def load(self) -> Callable[..., None]:
        def command(**_: object) -> None:
            raise self.error

        return command


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (
            ValueError("tensorflow provided for choice variable framework, but the choices are ['a', 'b']."),
            True,
        ),
        (UndefinedVariableInTemplate("Unable to render variable 'author'", UndefinedError("x"), {}), True),
        (ValueError("I/O operation on closed file"), False),
        (KeyError("commit"), False),
    ],
    ids=["choice", "template syntax", "other ValueError", "KeyError"],
)
def test_the_cruft_wrapper_refuses_answers_and_lets_faults_through_with_a_fake_cruft(
    error: Exception, refused: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cruft_cli, "entry_points", lambda **_: [_FakeCruftEntryPoint(error)])
    if refused:
        assert cruft_cli.main(["create", "repo"]) == 1
        assert capsys.readouterr().err.startswith("ERROR: ")
    else:
        with pytest.raises(type(error)):
            cruft_cli.main(["create", "repo"])
