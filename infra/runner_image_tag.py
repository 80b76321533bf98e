"""The runner image's tag: the runner release plus a digest of everything in infra/runner_image/.

One function for both sides: the Pulumi program names the image its Container Apps job pulls with it
(`github_runners_container_apps.runner_image`), and the infra pipeline pushes the image under the same name
(pipelines/scripts/runner_prerequisites.py) after asking the registry whether that tag exists. A changed
Dockerfile or entrypoint is a new tag, so a new build and a new job template; an unchanged folder is the tag the
registry already has, so nothing is rebuilt.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

RUNNER_IMAGE_DIR = Path(__file__).resolve().parent / "runner_image"
"""The image's build context: the Dockerfile and what it copies."""
DIGEST_LENGTH = 12
"""Hex digits of the digest in the tag (48 bits: no two contents of one repository's history collide)."""


def content_digest(folder: Path = RUNNER_IMAGE_DIR) -> str:
    """SHA-256 over every file under `folder`: its path relative to `folder` and its bytes, in path order, so the
    digest depends on the contents and names only (not on the checkout's location, times or listing order)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        msg = f"runner image folder {folder}: has no files; it must hold the image's Dockerfile"
        raise ValueError(msg)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def image_tag(version: str, folder: Path = RUNNER_IMAGE_DIR) -> str:
    """`<runner version>-<digest>`: readable release, exact contents."""
    return f"{version}-{content_digest(folder)[:DIGEST_LENGTH]}"
