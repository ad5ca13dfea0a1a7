"""workers.predictors: a damaged cached checkpoint is dropped and fetched again by itself; any other failure while
loading a model fails the job with its own error and leaves the checkpoint where it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.platform.builders import make_demo_model_version
from workers import predictors

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache(settings, tmp_path: Path) -> Iterator[Path]:  # noqa: ANN001
    """An empty model cache folder and no model loaded."""
    settings.MODEL_CACHE_DIR = str(tmp_path / "model-cache")
    predictors.clear()
    yield tmp_path / "model-cache"
    predictors.clear()


def test_a_damaged_cached_copy_is_dropped_and_fetched_again(cache: Path) -> None:
    version = make_demo_model_version()
    copy = predictors.local_checkpoint(version)
    copy.write_bytes(copy.read_bytes()[:1000])  # e.g. a disk that failed mid-write
    with pytest.raises(predictors.ModelUnavailable, match="could not be loaded"):
        predictors.predictor_for(version)
    assert not copy.exists()
    assert predictors.predictor_for(version).config.model.reference_size == 256 and copy.exists()


@pytest.mark.parametrize(
    "error",
    [FileNotFoundError("/elsewhere/swin.pt"), torch.OutOfMemoryError("CUDA out of memory"), KeyError("a bug")],
    ids=["another file missing", "out of memory", "a bug"],
)
def test_any_other_failure_fails_the_job_with_its_own_error_and_keeps_the_checkpoint(
    cache: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    version = make_demo_model_version()

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("smgeo.predictor.build_model", fail)
    with pytest.raises(type(error)) as raised:
        predictors.predictor_for(version)
    assert raised.value is error
    copy = cache / f"{version.sha256}.pt"
    assert copy.is_file() and version.checkpoint.storage.exists(version.checkpoint.name)
    monkeypatch.undo()  # the cause is gone: the next job loads the kept copy
    assert predictors.predictor_for(version).config.model.reference_size == 256
    assert predictors.loaded_versions() == [version.id]
