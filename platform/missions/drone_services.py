"""Writes of drone images: one checked upload -> the stored file, its EXIF metadata and a thumbnail."""

from __future__ import annotations

import io
import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, ImageOps

from missions.exif import read_metadata
from missions.models import DroneImage
from missions.uploads import (
    EXTENSIONS,
    check_image_intact,
    check_size,
    clean_filename,
    decode_image,
    mission_for_upload,
    open_image,
    sha256_of,
)

DRONE_FORMATS = ("JPEG", "PNG")
THUMBNAIL_SIDE = 320  # pixels, longest side


def drone_image_create(
    *, mission_id: int | None, upload: UploadedFile, by: AbstractBaseUser
) -> tuple[DroneImage, bool]:
    """Check the upload fully (size, kind, pixel count, integrity), then store it under a generated name with its
    metadata and a thumbnail. An identical file (same sha256) already in the mission is returned instead of a
    duplicate: (image, created)."""
    mission = mission_for_upload(by, mission_id, "upload drone images")
    check_size(upload)
    check_image_intact(
        upload, DRONE_FORMATS, "drone image"
    )  # a PNG's checksums too: its full decode below does not check them
    image = open_image(upload, DRONE_FORMATS, "drone image")
    width, height, extension = image.width, image.height, EXTENSIONS[image.format.lower()]
    metadata = read_metadata(image)
    thumbnail = make_thumbnail(decode_image(image, draft_size=(THUMBNAIL_SIDE, THUMBNAIL_SIDE)))
    sha256 = sha256_of(upload)
    existing = DroneImage.objects.filter(mission=mission, sha256=sha256).first()
    if existing is not None:
        return existing, False
    drone_image = DroneImage(
        mission=mission,
        original_name=clean_filename(upload.name),
        sha256=sha256,
        width=width,
        height=height,
        created_by=by,
        **metadata.as_fields(),
    )
    _store(drone_image, upload, extension, thumbnail)
    return drone_image, True


def make_thumbnail(image: Image.Image) -> bytes:
    """A JPEG whose longest side is THUMBNAIL_SIDE px (never upscaled), turned upright as browsers show the photo."""
    thumb = ImageOps.exif_transpose(image)
    if thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _store(drone_image: DroneImage, upload: UploadedFile, extension: str, thumbnail: bytes) -> None:
    """Write both files and the row; on any failure remove whatever was written."""
    stem = uuid.uuid4().hex
    try:
        upload.seek(0)
        drone_image.file.save(f"{stem}.{extension}", upload, save=False)
        drone_image.thumbnail.save(f"{stem}.jpg", ContentFile(thumbnail), save=False)
        with transaction.atomic():
            drone_image.save()
    except BaseException:
        drone_image.file.delete(save=False)
        drone_image.thumbnail.delete(save=False)
        raise
