"""Every platform test writes uploads, checkpoints and exports into its own media folder."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
