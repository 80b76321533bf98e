"""The runner image's tag (infra/runner_image_tag.py): the runner release plus a digest of the build context, the one
name the stack's Container Apps job pulls and the infra pipeline pushes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from infra.components.github_runners_container_apps import (
    RUNNER_IMAGE_REPOSITORY,
    RUNNER_VERSION,
    runner_image,
)
from infra.runner_image_tag import RUNNER_IMAGE_DIR, content_digest, image_tag


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A copy of infra/runner_image/ to change."""
    return Path(shutil.copytree(RUNNER_IMAGE_DIR, tmp_path / "runner_image"))


def test_the_tag_is_the_runner_release_and_twelve_hex_digits_of_the_contents(context: Path) -> None:
    tag = image_tag(RUNNER_VERSION, context)
    assert re.fullmatch(rf"{re.escape(RUNNER_VERSION)}-[0-9a-f]{{12}}", tag)
    assert tag == image_tag(RUNNER_VERSION)  # the copy's contents are the folder's: same tag wherever it lies
    assert runner_image("cr.azurecr.io") == f"cr.azurecr.io/{RUNNER_IMAGE_REPOSITORY}:{tag}"


@pytest.mark.parametrize(
    "change",
    [
        lambda c: (c / "Dockerfile").write_text((c / "Dockerfile").read_text() + "LABEL changed=true\n"),
        lambda c: (c / "entrypoint.sh").write_bytes(
            (c / "entrypoint.sh").read_bytes().replace(b"\n", b"\n\n", 1)
        ),
        lambda c: (c / "extra.conf").write_text("copied by a new COPY\n"),
        lambda c: (c / "entrypoint.sh").rename(c / "start.sh"),
    ],
    ids=["dockerfile", "entrypoint", "new-file", "renamed-file"],
)
def test_any_change_to_the_build_context_is_a_new_tag(context: Path, change) -> None:
    before = content_digest(context)
    change(context)
    assert content_digest(context) != before


def test_file_times_and_listing_order_do_not_change_the_tag(context: Path) -> None:
    before = content_digest(context)
    for path in context.iterdir():
        path.touch()
    assert content_digest(context) == before


def test_an_empty_build_context_is_refused_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as refused:
        content_digest(tmp_path)
    assert (
        str(refused.value)
        == f"runner image folder {tmp_path}: has no files; it must hold the image's Dockerfile"
    )
