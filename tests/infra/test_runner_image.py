"""The self-hosted runner image (infra/runner_image/): pinned to the runner release the stack's job pulls, clean
under checkov's Dockerfile checks, and an entrypoint that registers one ephemeral runner as the GitHub App.

The entrypoint runs for real (bash, openssl, curl, jq) against a fake of the one boundary that needs the
internet, GitHub's REST API, on loopback; the fake refuses a JWT that the App's public key does not verify, as
GitHub does. `config.sh`/`run.sh` are stand-ins that record what the runner would be given.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from infra.components.github_runners_container_apps import RUNNER_VERSION
from infra.plan.checkov_run import checkov_binary
from tests.infra.conftest import REPO

IMAGE = REPO / "infra" / "runner_image"


def test_the_image_is_built_from_the_runner_release_the_job_pulls() -> None:
    (base,) = re.findall(r"^FROM (\S+)$", (IMAGE / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)
    assert base == f"ghcr.io/actions/actions-runner:{RUNNER_VERSION}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", RUNNER_VERSION)
    assert re.search(r"azure-cli==\d+\.\d+\.\d+", (IMAGE / "Dockerfile").read_text(encoding="utf-8"))


def test_checkovs_dockerfile_and_secrets_checks_pass_on_the_image() -> None:
    checkov = checkov_binary(REPO)
    done = subprocess.run(
        [
            str(checkov),
            "-d",
            str(IMAGE),
            "--framework",
            "dockerfile",
            "secrets",
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        check=False,
        timeout=600,
    )
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    dockerfile = [r for r in reports if r.get("check_type") == "dockerfile"]
    assert dockerfile and dockerfile[0]["summary"]["passed"] >= 10
    assert [r["summary"]["failed"] for r in reports] == [0] * len(reports), done.stdout[:2000]


class FakeGitHub(BaseHTTPRequestHandler):
    """POST /app/installations/<id>/access_tokens (App JWT) and .../actions/runners/registration-token (token)."""

    public_key: ClassVar[Any] = None
    calls: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: object) -> None:  # quiet
        return

    def _answer(self, status: int, body: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append((self.path, bearer))
        if self.path == "/app/installations/76543210/access_tokens":
            header, payload, signature = bearer.split(".")
            pad = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
            try:
                self.public_key.verify(
                    pad(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
                )
            except InvalidSignature:  # what GitHub answers a JWT its App's key does not verify
                self._answer(401, {"message": "A JSON web token could not be decoded"})
                return
            claims = json.loads(pad(payload))
            if claims["iss"] != "1234567" or not 0 < claims["exp"] - claims["iat"] <= 600:
                self._answer(401, {"message": "bad claims"})
                return
            self._answer(201, {"token": "ghs_installation"})
        elif self.path.endswith("/actions/runners/registration-token") and bearer == "ghs_installation":
            self._answer(201, {"token": "AREGISTRATION"})
        else:
            self._answer(404, {"message": "Not Found"})


@pytest.fixture
def github() -> Iterator[str]:
    FakeGitHub.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _run(tmp_path: Path, api: str, url: str, key_pem: str) -> subprocess.CompletedProcess[str]:
    for name, body in (
        ("config.sh", 'printf "%s\\n" "$@" > config.args\n'),
        ("run.sh", "env > run.env\necho ran\n"),
    ):
        script = tmp_path / name
        script.write_text(f"#!/usr/bin/env bash\n{body}", encoding="utf-8")
        script.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_API_URL": api,
        "GITHUB_URL": url,
        "GITHUB_APP_ID": "1234567",
        "GITHUB_APP_INSTALLATION_ID": "76543210",
        "GITHUB_APP_KEY": key_pem,
        "RUNNER_LABELS": "mlops-prod-abc123",
        "IDENTITY_ENDPOINT": "http://localhost:42356/msi/token",
        "IDENTITY_HEADER": "identity-secret",
    }
    return subprocess.run(
        [str(IMAGE / "entrypoint.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "registration"),
    [
        ("https://github.com/contoso", "/orgs/contoso/actions/runners/registration-token"),
        ("https://github.com/contoso/churn", "/repos/contoso/churn/actions/runners/registration-token"),
    ],
)
def test_the_entrypoint_registers_one_ephemeral_runner_as_the_app_and_hides_the_key_from_the_job(
    tmp_path: Path, github: str, url: str, registration: str
) -> None:
    """GitHub Apps authenticate with an RS256 JWT (iss = App ID, at most 10 minutes) exchanged for an installation
    token, which creates a runner registration token for the organization or repository
    (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    FakeGitHub.public_key = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    done = _run(tmp_path, github, url, pem)
    assert done.returncode == 0, done.stderr
    assert [path for path, _ in FakeGitHub.calls] == [
        "/app/installations/76543210/access_tokens",
        registration,
    ]
    args = (tmp_path / "config.args").read_text(encoding="utf-8").split("\n")
    assert args[:6] == ["--url", url, "--token", "AREGISTRATION", "--labels", "mlops-prod-abc123"]
    assert {"--ephemeral", "--unattended", "--disableupdate"} <= set(args)
    job_env = (tmp_path / "run.env").read_text(encoding="utf-8")
    for hidden in ("GITHUB_APP_KEY", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "BEGIN RSA", "ghs_installation"):
        assert hidden not in job_env


def test_a_key_that_is_not_the_apps_is_refused_and_no_runner_registers(tmp_path: Path, github: str) -> None:
    FakeGitHub.public_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    done = _run(tmp_path, github, "https://github.com/contoso", other.decode())
    assert done.returncode != 0
    assert not (tmp_path / "config.args").exists() and not (tmp_path / "run.env").exists()
