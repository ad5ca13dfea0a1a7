"""A local path for a stored file, whatever the storage (filesystem or object storage)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile


@contextmanager
def local_path(file: FieldFile) -> Iterator[str]:
    """A local path of a stored file: the file itself on a filesystem storage, else a temporary copy."""
    try:
        path = file.storage.path(file.name)
    except NotImplementedError:  # object storage (S3): no local path
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=Path(file.name).suffix) as copy, file.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            copy.write(chunk)
        copy.flush()
        yield copy.name
