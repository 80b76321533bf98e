"""Another process's command line, as the list of arguments it was started with, on Linux, macOS and Windows.

- Linux: `/proc/<pid>/cmdline`, the arguments separated by NUL bytes;
- macOS: `sysctl(KERN_PROCARGS2)`, the argument count then the arguments separated by NUL bytes (what `ps`
  reads, without its joining on spaces);
- Windows 8.1 and later: the process's command line (`NtQueryInformationProcess`, which also gives its parent),
  one string, split as the Microsoft C runtime splits it into `argv`.

The system calls are made with ctypes (hooks use only the standard library); each platform's raw format is parsed
by a pure function, tested on any system. Where a call is missing or refused, the answer is "nothing".
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# How many processes up the hook looks for cookiecutter: the parent (Linux, macOS), or the grandparent behind
# cmd.exe (Windows), plus one for launchers that re-run the interpreter as a child (a Windows venv's python.exe).
_ANCESTORS = 3


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
    # int sysctl(int *name, u_int namelen, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    libc.sysctl.restype = ctypes.c_int
    libc.sysctl.argtypes = [
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
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
