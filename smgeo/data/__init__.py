"""Data: the CVOGL layout (read, write, serve) and joint transforms that move the click and box with the pixels."""

from smgeo.data.cvogl import (
    CVOGLDataset,
    CVOGLFormatError,
    CVOGLItem,
    CVOGLRecord,
    read_records,
    write_split,
)
from smgeo.data.transforms import build_transforms

__all__ = [
    "CVOGLDataset",
    "CVOGLFormatError",
    "CVOGLItem",
    "CVOGLRecord",
    "build_transforms",
    "read_records",
    "write_split",
]
