"""The answers given on the `cookiecutter` command line (`key=value`), read by the pre_prompt hook.

Cookiecutter applies command-line answers to cookiecutter.json before any template code runs, and a value
outside a closed list ends there in a ValueError traceback. The only template code that runs earlier is the
pre_prompt hook, a child process of the `cookiecutter` command that is not told the answers. It reads the
command line of the `cookiecutter` process above it from the operating system, as a list of arguments (never
a string split on spaces), and parses it with cookiecutter's own command (click) definition, so it sees
exactly the `key=value` pairs and the `--config-file` cookiecutter will use:

- Linux: `/proc/<pid>/cmdline`, the arguments separated by NUL bytes;
- macOS: `sysctl(KERN_PROCARGS2)`, the argument count then the arguments separated by NUL bytes (what `ps`
  reads, without its joining on spaces);
- Windows 8.1 and later: the process's command line (`NtQueryInformationProcess`, which also gives its parent),
  one string, split as the Microsoft C runtime splits it into `argv`. Cookiecutter runs hooks through the shell
  there (`cmd.exe`), so the cookiecutter process is the hook's grandparent.

What the hook finds is cookiecutter's own command line or nothing: a process that merely mentions cookiecutter
among its later arguments (`cruft create ... cookiecutter`) is not it, and the search stops a few processes up.

When cookiecutter runs as a library (its API, cruft) there is no such command line and this finds nothing;
those callers get cookiecutter's ValueError, which names the value, the field and the choices.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

# How many processes up the hook looks for cookiecutter: the parent (Linux, macOS), or the grandparent behind
# cmd.exe (Windows), plus one for launchers that re-run the interpreter as a child (a Windows venv's python.exe).
_ANCESTORS = 3
_COOKIECUTTER_PROGRAMS = frozenset({"cookiecutter", "cookiecutter.exe", "cookiecutter-script.py"})


def linux_command_line(pid: int, proc: Path = Path("/proc")) -> list[str]:
    """The arguments of process `pid` from /proc, or [] where /proc does not have it."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    # Each argument ends with a NUL: an empty argument is an empty field, kept so options keep their values.
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0")[:-1]]


def parse_procargs2(raw: bytes, byteorder: str = sys.byteorder) -> list[str]:
    """The arguments in a macOS `KERN_PROCARGS2` buffer: argc (a C int), the executable's path, NUL padding,
    then argc NUL-terminated arguments (the environment follows and is not read).

    >>> parse_procargs2(b"\\x02\\0\\0\\0/usr/bin/python3\\0\\0\\0python3\\0a b\\0HOME=/x\\0")
    ['python3', 'a b']
    >>> parse_procargs2(b"")
    []
    """
    if len(raw) < 4:
        return []
    argc = int.from_bytes(raw[:4], byteorder)  # type: ignore[arg-type]
    executable_end = raw.find(b"\0", 4)
    if executable_end < 0:
        return []
    arguments = raw[executable_end:].lstrip(b"\0").split(b"\0")
    return [part.decode("utf-8", "surrogateescape") for part in arguments[:argc]]


def macos_command_line(pid: int) -> list[str]:
    """The arguments of process `pid` through sysctl (the calling user's own processes are readable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    ctl_kern, kern_argmax, kern_procargs2 = 1, 8, 49  # <sys/sysctl.h>
    argmax = ctypes.c_int(0)
    size = ctypes.c_size_t(ctypes.sizeof(argmax))
    if libc.sysctl(
        (ctypes.c_int * 2)(ctl_kern, kern_argmax), 2, ctypes.byref(argmax), ctypes.byref(size), None, 0
    ):
        return []
    buffer = ctypes.create_string_buffer(argmax.value)
    size = ctypes.c_size_t(argmax.value)
    if libc.sysctl((ctypes.c_int * 3)(ctl_kern, kern_procargs2, pid), 3, buffer, ctypes.byref(size), None, 0):
        return []
    return parse_procargs2(buffer.raw[: size.value])


def split_windows_command_line(line: str) -> list[str]:
    """`argv` as the Microsoft C runtime builds it from a command line (what Python's main() receives).

    https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments: white space separates
    arguments except inside double quotes; 2N backslashes before a quote are N backslashes and the quote
    delimits, 2N+1 are N backslashes and a literal quote; other backslashes are literal. The program name
    (argv[0]) takes no escapes: quotes only group. The inverse of `subprocess.list2cmdline`.

    >>> split_windows_command_line(r'"C:\\Program Files\\py.exe" "a b c" d\\\\"e f"g "ab\\"c" x\\y')
    ['C:\\\\Program Files\\\\py.exe', 'a b c', 'd\\\\e fg', 'ab"c', 'x\\\\y']
    """
    arguments: list[str] = []
    position, end = 0, len(line)
    program, quoted = [], False
    while position < end and (quoted or line[position] not in " \t"):
        if line[position] == '"':
            quoted = not quoted
        else:
            program.append(line[position])
        position += 1
    if position or line:
        arguments.append("".join(program))
    quoted = False
    while True:
        while position < end and line[position] in " \t":
            position += 1
        if position >= end:
            return arguments
        argument: list[str] = []
        while True:
            backslashes = 0
            while position < end and line[position] == "\\":
                backslashes += 1
                position += 1
            copy = True
            if position < end and line[position] == '"':
                if backslashes % 2 == 0:
                    if quoted and line[position + 1 : position + 2] == '"':
                        position += 1  # "" inside quotes: a literal quote
                    else:
                        copy, quoted = False, not quoted
                backslashes //= 2
            argument.append("\\" * backslashes)
            if position >= end or (not quoted and line[position] in " \t"):
                break
            if copy:
                argument.append(line[position])
            position += 1
        arguments.append("".join(argument))


def _windows_query(pid: int) -> tuple[str, int] | None:
    """The command line and parent id of process `pid` (Windows 8.1+), or None where they cannot be read."""
    from ctypes import wintypes

    ntdll = ctypes.WinDLL("ntdll")  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    query = ntdll.NtQueryInformationProcess
    query.restype = ctypes.c_long
    query.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.ULONG,
        ctypes.POINTER(wintypes.ULONG),
    ]

    class BasicInformation(ctypes.Structure):  # PROCESS_BASIC_INFORMATION
        _fields_ = [
            ("ExitStatus", ctypes.c_long),
            ("PebBaseAddress", ctypes.c_void_p),
            ("AffinityMask", ctypes.c_size_t),
            ("BasePriority", ctypes.c_long),
            ("UniqueProcessId", ctypes.c_size_t),
            ("InheritedFromUniqueProcessId", ctypes.c_size_t),
        ]

    class UnicodeString(ctypes.Structure):  # UNICODE_STRING, followed in the buffer by its text
        _fields_ = [
            ("Length", ctypes.c_ushort),
            ("MaximumLength", ctypes.c_ushort),
            ("Buffer", ctypes.c_void_p),
        ]

    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        basic = BasicInformation()
        if query(handle, 0, ctypes.byref(basic), ctypes.sizeof(basic), None):  # ProcessBasicInformation
            return None
        needed = wintypes.ULONG(0)
        query(handle, 60, None, 0, ctypes.byref(needed))  # ProcessCommandLineInformation: the size first
        buffer = ctypes.create_string_buffer(max(needed.value, ctypes.sizeof(UnicodeString)))
        if query(handle, 60, buffer, len(buffer), ctypes.byref(needed)):
            return None
        text = UnicodeString.from_buffer(buffer)
        return ctypes.wstring_at(text.Buffer, text.Length // 2), int(basic.InheritedFromUniqueProcessId)
    finally:
        kernel32.CloseHandle(handle)


def windows_command_line(pid: int) -> list[str]:
    found = _windows_query(pid)
    return split_windows_command_line(found[0]) if found else []


def windows_parent(pid: int) -> int | None:
    found = _windows_query(pid)
    return found[1] if found else None


_PLATFORMS: dict[str, tuple[Callable[[int], list[str]], Callable[[int], int | None]]] = {
    # Cookiecutter starts hooks directly on Linux and macOS: only its parent is read.
    "linux": (linux_command_line, lambda pid: None),
    "darwin": (macos_command_line, lambda pid: None),
    "win32": (windows_command_line, windows_parent),
}


def ancestor_command_lines(
    pid: int, platform: str = sys.platform, limit: int = _ANCESTORS
) -> Iterator[tuple[int, list[str]]]:
    """Process `pid` and its parents with their argument lists, nearest first, as far as the platform tells."""
    read, parent = _PLATFORMS.get("linux" if platform.startswith("linux") else platform, (None, None))
    current: int | None = pid
    for _ in range(limit):
        if read is None or parent is None or not current:
            return
        try:
            yield current, read(current)
            current = parent(current)
        # No such library or function (another system's calls), or an unreadable process.
        except (OSError, AttributeError, ValueError, ctypes.ArgumentError):
            return


def cookiecutter_arguments(argv: list[str]) -> list[str] | None:
    """The arguments after the program when `argv` runs the cookiecutter CLI, else None.

    >>> cookiecutter_arguments(["/venv/bin/python3", "/venv/bin/cookiecutter", "t", "task=x"])
    ['t', 'task=x']
    >>> cookiecutter_arguments(["python", "-m", "cookiecutter", "t"])
    ['t']
    >>> cookiecutter_arguments(["C:\\\\py\\\\python.exe", "C:\\\\venv\\\\Scripts\\\\cookiecutter.exe", "t", "a=b"])
    ['t', 'a=b']
    >>> cookiecutter_arguments(["python", "-m", "pytest", "-q"]) is None
    True
    """
    for index, part in enumerate(argv[:3]):
        if index > 0 and re.split(r"[\\/]", part)[-1].lower() in _COOKIECUTTER_PROGRAMS:
            return argv[index + 1 :]
    return None


def cookiecutter_command(pid: int, platform: str = sys.platform) -> list[str] | None:
    """The arguments of the nearest process above the hook (`pid` is its parent) that runs cookiecutter."""
    for _, argv in ancestor_command_lines(pid, platform):
        arguments = cookiecutter_arguments(argv)
        if arguments is not None:
            return arguments
    return None


def cookiecutter_options(arguments: list[str]) -> dict[str, Any]:
    """Cookiecutter's parameters for `arguments`, parsed by its own CLI definition ({} if they do not parse).

    >>> options = cookiecutter_options(["t", "--no-input", "-o", "out", "task=bogus", "author=A=B"])
    >>> options["extra_context"], options["config_file"], options["default_config"]
    ({'task': 'bogus', 'author': 'A=B'}, None, False)
    """
    from click.exceptions import ClickException, Exit
    from cookiecutter.cli import main

    try:
        # resilient_parsing: no prompts and no callbacks (cookiecutter's own checks run later, in its process).
        context = main.make_context("cookiecutter", list(arguments), resilient_parsing=True)
    except (ClickException, Exit):  # an unparsable command line is cookiecutter's to report
        return {}
    params = dict(context.params)
    given = params.get("extra_context") or {}
    # Resilient parsing skips cookiecutter's callback that splits the pairs.
    if not isinstance(given, Mapping):
        given = dict(pair.split("=", 1) for pair in given if "=" in pair)
    params["extra_context"] = {str(key): str(value) for key, value in given.items()}
    return params


def user_default_context(options: Mapping[str, Any]) -> tuple[str, Mapping[str, object]]:
    """The user configuration cookiecutter reads for these options (`--config-file`, `--default-config`,
    COOKIECUTTER_CONFIG, ~/.cookiecutterrc) and its `default_context`, by cookiecutter's own reader.

    A relative path is relative to where cookiecutter was started, which the hook cannot know (cookiecutter
    runs it from inside a copy of the template): such a configuration is not read here, and cookiecutter's own
    warning ("Invalid default received: ...") stands.
    """
    from cookiecutter.config import USER_CONFIG_PATH, get_user_config
    from cookiecutter.exceptions import CookiecutterException

    given = options.get("config_file") or os.environ.get("COOKIECUTTER_CONFIG")
    source = Path(given or USER_CONFIG_PATH)
    if options.get("default_config") or not source.is_absolute():
        return str(source), {}
    try:
        # As cookiecutter reads it: a missing ~/.cookiecutterrc is no configuration, and a missing or broken
        # given file is cookiecutter's error to report.
        config = get_user_config(config_file=given, default_config=False)
    except (CookiecutterException, OSError):
        return str(source), {}
    context = config.get("default_context")
    return str(source), context if isinstance(context, Mapping) else {}
