"""The Azurite fixture's own contract: it runs the pinned emulator, and when it cannot, it says why."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest

from tests.support import azurite_server
from tests.support.azurite_server import AZURITE_DIR, Azurite, AzuriteError


def test_the_emulator_is_pinned_exactly_and_locked() -> None:
    package = json.loads((AZURITE_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((AZURITE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert package["private"] is True
    assert package["dependencies"] == {"azurite": "3.37.0"}
    assert lock["packages"]["node_modules/azurite"]["version"] == "3.37.0"


def test_the_session_emulator_listens_on_the_ports_it_announced(azurite: Azurite) -> None:
    assert azurite.process.poll() is None
    for service in ("Queue", "Table"):
        with socket.create_connection(("127.0.0.1", azurite.ports[service]), timeout=2) as connection:
            assert connection.getpeername()[1] == azurite.ports[service]
    assert "AccountName=devstoreaccount1" in azurite.connection_string


def test_a_missing_install_fails_naming_make_setup_azurite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azurite_server, "AZURITE_BIN", tmp_path / "node_modules" / ".bin" / "azurite")
    with pytest.raises(AzuriteError) as raised:
        azurite_server.start()
    assert "run `make setup-azurite`" in str(raised.value)


def test_an_emulator_that_exits_fails_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "azurite"
    broken.write_text("#!/bin/sh\necho 'Exit due to unhandled error: port in use'\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(azurite_server, "AZURITE_BIN", broken)
    with pytest.raises(AzuriteError) as raised:
        azurite_server.start(timeout=10)
    assert "Azurite exited with code 1 before listening" in str(raised.value)
    assert "port in use" in str(raised.value)


def test_an_emulator_that_never_listens_times_out_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = tmp_path / "azurite"
    silent.write_text("#!/bin/sh\necho 'starting...'\nexec sleep 30\n")
    silent.chmod(silent.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(azurite_server, "AZURITE_BIN", silent)
    with pytest.raises(AzuriteError) as raised:
        azurite_server.start(timeout=2)
    assert "did not listen on its Queue and Table ports within 2 s" in str(raised.value)
    assert "starting..." in str(raised.value)
