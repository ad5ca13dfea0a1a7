"""Where media files live (uploads, COGs, heatmaps, checkpoints, exports): the local filesystem under MEDIA_ROOT, or
an S3-compatible bucket (AWS S3, MinIO, ...) through django-storages, so that web servers and workers on other hosts
read and write the same files. Every reader and writer goes through Django's storage API (`FieldFile.open()`,
`Storage.save()`), never a local path, and files reach users only through permission-checked views (never a bucket
URL). The variables are described in docs/storage.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = ["MEDIA_STORAGE", "STORAGES"]

FILESYSTEM, S3 = "filesystem", "s3"
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def media_storage(environment: Mapping[str, str]) -> dict[str, Any]:
    """The STORAGES["default"] entry that `environment` asks for; ImproperlyConfigured naming the variable at fault."""
    kind = _text(environment, "MEDIA_STORAGE").lower() or FILESYSTEM
    if kind == FILESYSTEM:
        return {"BACKEND": "core.media_storage.MediaFileSystemStorage"}  # under MEDIA_ROOT, read when first used
    if kind == S3:
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(environment)}
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be {FILESYSTEM!r} (the default) or {S3!r}, not {kind!r}")


def s3_options(environment: Mapping[str, str]) -> dict[str, Any]:
    """django-storages' S3Storage options: a private bucket, objects never overwritten, large files spooled to disk."""
    bucket = _text(environment, "AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME: the bucket that holds the media")
    access_key, secret_key = _text(environment, "AWS_ACCESS_KEY_ID"), _text(environment, "AWS_SECRET_ACCESS_KEY")
    if bool(access_key) != bool(secret_key):
        missing = "AWS_SECRET_ACCESS_KEY" if access_key else "AWS_ACCESS_KEY_ID"
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE=s3: {missing} is not set; set both keys, or neither to use the host's AWS credentials"
        )
    endpoint = _text(environment, "AWS_S3_ENDPOINT_URL") or None
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,  # None: AWS itself
        "region_name": _text(environment, "AWS_S3_REGION_NAME") or "us-east-1",
        # MinIO and most S3-compatible servers want path-style addressing (http://minio:9000/<bucket>/<key>).
        "addressing_style": _text(environment, "AWS_S3_ADDRESSING_STYLE") or ("path" if endpoint else "auto"),
        "signature_version": "s3v4",
        "location": _text(environment, "AWS_LOCATION").strip("/"),  # a key prefix, for a bucket shared with others
        # Private: no ACL header (objects stay as private as the bucket), and any URL ever made is signed and expires.
        "default_acl": _text(environment, "AWS_DEFAULT_ACL") or None,
        "querystring_auth": _flag(environment, "AWS_QUERYSTRING_AUTH", default=True),
        "querystring_expire": 300,
        # Like the filesystem: a taken name gets a suffix, so one row's file never replaces (or deletes) another's.
        "file_overwrite": False,
        # A file opened for reading is downloaded into a temporary file; past this size it lives on disk, not in RAM.
        "max_memory_size": 8 * 2**20,
    }
    if access_key:
        options.update(access_key=access_key, secret_key=secret_key)
    return options


def _text(environment: Mapping[str, str], name: str) -> str:
    return environment.get(name, "").strip()


def _flag(environment: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = _text(environment, name).lower()
    if not value:
        return default
    if value in TRUE or value in FALSE:
        return value in TRUE
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


MEDIA_STORAGE = _text(os.environ, "MEDIA_STORAGE").lower() or FILESYSTEM
STORAGES = {
    "default": media_storage(os.environ),
    # Static files stay Django's default (collectstatic into STATIC_ROOT); production replaces this entry.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
