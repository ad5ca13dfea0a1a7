"""Moving files between Django's storage (filesystem or S3) and local temporary files for rasterio.

Nothing here assumes the storage has local paths: files are streamed through `FieldFile.open()` and
`Storage.save()`, so a worker on another host sees the same files as the web server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile

CHUNK = 1024 * 1024


def download(field_file: FieldFile, destination: Path) -> str:
    """Copy a stored file to a local path; returns its sha256."""
    digest = hashlib.sha256()
    with field_file.storage.open(field_file.name, "rb") as source, destination.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def download_atomically(field_file: FieldFile, destination: Path) -> str:
    """Like `download`, but other processes never see a half-written destination; returns the sha256."""
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.part")
    try:
        sha = download(field_file, partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return sha


def sha256_of_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def upload(storage: Storage, name: str, source: Path) -> str:
    """Store a local file under `name` (the storage may alter it to keep it unique); returns the stored name."""
    with source.open("rb") as f:
        return storage.save(name, File(f, name=source.name))


def delete_quietly(storage: Storage, *names: str) -> None:
    """Delete stored files, ignoring ones already gone (used to undo a half-done write)."""
    for name in names:
        if name:
            with contextlib.suppress(FileNotFoundError):
                storage.delete(name)
