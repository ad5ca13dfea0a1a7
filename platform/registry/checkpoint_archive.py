"""Reading a `torch.save` archive without torch and without materialising a tensor: the web process checks an
uploaded checkpoint here, so a small file that would inflate to gigabytes (a zip bomb, or a pickle naming huge
tensors) is refused before anything is allocated.

A torch.save file is a zip archive: `<name>/data.pkl` (a pickle of the object, tensors as references to storages)
and one entry `<name>/data/<key>` per storage. Before anything is read, the archive's declared sizes are checked
against MAX_CHECKPOINT_UNPACKED_BYTES (all entries together) and the pickle against MAX_CHECKPOINT_PICKLE_BYTES, and
only stored or deflated entries are accepted (torch.save stores them; other methods cannot be inflated in bounded
steps), and an entry holding more compressed bytes than its declared size can take is refused (it lies about its
size). The pickle is inflated in chunks that stop at its declared size, then read by a restricted unpickler that
knows only plain values, ordered dicts and tensors, and turns each tensor into a `TensorInfo` (dtype, shape,
storage) — never its data. The tensor count is checked against MAX_CHECKPOINT_TENSORS, and every tensor must lie
within its storage entry. Only a scalar tensor's value (a metric) is read, a few bytes.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from core.errors import InvalidInput, TooLarge

FIELD = "checkpoint"
# storage class -> (dtype name, bytes per element, struct format for a scalar's value or None)
STORAGES = {
    "DoubleStorage": ("float64", 8, "<d"), "FloatStorage": ("float32", 4, "<f"), "HalfStorage": ("float16", 2, "<e"),
    "BFloat16Storage": ("bfloat16", 2, None), "LongStorage": ("int64", 8, "<q"), "IntStorage": ("int32", 4, "<i"),
    "ShortStorage": ("int16", 2, "<h"), "CharStorage": ("int8", 1, "<b"), "ByteStorage": ("uint8", 1, "<B"),
    "BoolStorage": ("bool", 1, "<?"), "ComplexFloatStorage": ("complex64", 8, None),
    "ComplexDoubleStorage": ("complex128", 16, None),
}  # fmt: skip
UNSAFE = "it holds objects other than tensors and plain values, which are never loaded (unsafe)"
READ_CHUNK = 1 << 16  # bytes inflated at a time
INFLATABLE = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


@dataclass(frozen=True)
class StorageType:
    dtype: str
    element_bytes: int
    scalar_format: str | None


@dataclass(frozen=True)
class Storage:
    kind: StorageType
    key: str
    elements: int


@dataclass(frozen=True)
class TensorInfo:
    """A tensor as the archive describes it; its data stays in the archive."""

    storage: Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    archive: ArchiveReader

    @property
    def dtype(self) -> str:
        return self.storage.kind.dtype

    def numel(self) -> int:
        return math.prod(self.shape)

    def extent(self) -> int:
        """Elements of the storage this tensor reaches (offset + the farthest element + 1)."""
        if self.numel() == 0:
            return 0
        return self.offset + sum((size - 1) * step for size, step in zip(self.shape, self.stride, strict=True)) + 1

    def item(self) -> float | int | bool:
        """The value of a one-element tensor (a metric), read from the archive."""
        kind = self.storage.kind
        if self.numel() != 1 or kind.scalar_format is None:
            raise ValueError(f"a {kind.dtype} tensor of shape {list(self.shape)} is not a plain number")
        data = self.archive.read_storage(self.storage.key, self.offset * kind.element_bytes, kind.element_bytes)
        return struct.unpack(kind.scalar_format, data)[0]


class ArchiveReader:
    """An open torch.save archive; `load()` is the object it holds, tensors as TensorInfo."""

    def __init__(self, path: Path) -> None:
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            with path.open("rb") as handle:
                is_zip = handle.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive
            why = f"it is truncated or corrupt ({exc})" if is_zip else "it is not a file written by torch.save"
            raise InvalidInput(f"the checkpoint is not a readable PyTorch checkpoint: {why}", field=FIELD) from exc
        self.entries = {info.filename: info for info in self.zip.infolist()}
        pickles = [name for name in self.entries if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            self.zip.close()
            raise InvalidInput(
                "the checkpoint is not a readable PyTorch checkpoint: it is not a file written by torch.save",
                field=FIELD,
            )
        self.prefix = pickles[0][: -len("data.pkl")]
        self.tensors = 0

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def check_sizes(self) -> None:
        """413 naming the limit when the entries would unpack to too much, before any is read; 400 for an entry
        compressed by a method that cannot be inflated in bounded steps."""
        odd = next((info for info in self.entries.values() if info.compress_type not in INFLATABLE), None)
        if odd is not None:
            raise InvalidInput(
                f"the checkpoint is not a readable PyTorch checkpoint: its entry {odd.filename!r} is compressed with "
                f"zip method {odd.compress_type}; only stored or deflated entries are read (torch.save stores them)",
                field=FIELD,
            )
        liar = next((info for info in self.entries.values() if info.compress_size > _most_packed(info)), None)
        if liar is not None:
            raise InvalidInput(
                f"the checkpoint is truncated or corrupt: its entry {liar.filename!r} declares {liar.file_size:,} "
                f"bytes but holds {liar.compress_size:,} compressed bytes (it lies about its size)",
                field=FIELD,
            )
        unpacked = sum(info.file_size for info in self.entries.values())
        limit = settings.MAX_CHECKPOINT_UNPACKED_BYTES
        if unpacked > limit:
            raise TooLarge(
                f"the checkpoint would unpack to {unpacked:,} bytes; the limit is {limit:,} bytes "
                "(MAX_CHECKPOINT_UNPACKED_BYTES)",
                field=FIELD,
            )
        pickled = self.entries[self.prefix + "data.pkl"].file_size
        if pickled > settings.MAX_CHECKPOINT_PICKLE_BYTES:
            raise TooLarge(
                f"the checkpoint's object description (data.pkl) is {pickled:,} bytes; the limit is "
                f"{settings.MAX_CHECKPOINT_PICKLE_BYTES:,} bytes (MAX_CHECKPOINT_PICKLE_BYTES)",
                field=FIELD,
            )

    def load(self) -> Any:
        self.check_sizes()
        try:
            data = self.read_entry(self.prefix + "data.pkl")
            return _Unpickler(io.BytesIO(data), self).load()
        except (InvalidInput, TooLarge):
            raise
        except _Unsafe as exc:
            raise InvalidInput(f"the checkpoint is not a readable PyTorch checkpoint: {UNSAFE}", field=FIELD) from exc
        except Exception as exc:  # a malformed pickle raises many types
            raise InvalidInput(
                f"the checkpoint is not a readable PyTorch checkpoint: it is truncated or corrupt ({exc})"[:300],
                field=FIELD,
            ) from exc

    def read_entry(self, name: str) -> bytes:
        """An entry's bytes, inflated a chunk at a time: zipfile stops at the declared size, and the CRC then refuses
        an entry that held more."""
        info, chunks = self.entries[name], []
        with self.zip.open(info) as entry:
            while chunk := entry.read(READ_CHUNK):
                chunks.append(chunk)
        return b"".join(chunks)

    def storage_bytes(self, key: str) -> int:
        info = self.entries.get(f"{self.prefix}data/{key}")
        if info is None:
            raise InvalidInput(f"the checkpoint is truncated or corrupt: storage {key!r} is missing", field=FIELD)
        return info.file_size

    def read_storage(self, key: str, start: int, size: int) -> bytes:
        with self.zip.open(f"{self.prefix}data/{key}") as entry:
            entry.seek(start)
            return entry.read(size)

    def tensor(self, storage: Storage, offset: int, shape: tuple, stride: tuple) -> TensorInfo:
        self.tensors += 1
        if self.tensors > settings.MAX_CHECKPOINT_TENSORS:
            raise TooLarge(
                f"the checkpoint holds more than {settings.MAX_CHECKPOINT_TENSORS:,} tensors (MAX_CHECKPOINT_TENSORS)",
                field=FIELD,
            )
        if not all(isinstance(n, int) and n >= 0 for n in (offset, *shape, *stride)) or len(shape) != len(stride):
            raise InvalidInput("the checkpoint is truncated or corrupt: a tensor's shape is not valid", field=FIELD)
        info = TensorInfo(storage, offset, tuple(shape), tuple(stride), self)
        needed = max(info.extent(), storage.elements) * storage.kind.element_bytes
        if needed > self.storage_bytes(storage.key):
            raise InvalidInput(
                f"the checkpoint is truncated or corrupt: a tensor of shape {list(shape)} does not fit its storage",
                field=FIELD,
            )
        return info


def _most_packed(info: zipfile.ZipInfo) -> int:
    """The most compressed bytes an honest entry of info.file_size bytes takes: stored, its size; deflated, its size
    plus deflate's worst-case overhead (5 bytes per 16 KiB stored block, and the stream's framing)."""
    if info.compress_type == zipfile.ZIP_STORED:
        return info.file_size
    return info.file_size + 5 * (info.file_size // 16384 + 1) + 64


class _Unsafe(Exception):
    """The pickle names something other than plain values, ordered dicts and tensors."""


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, archive: ArchiveReader) -> None:
        super().__init__(file)
        self.archive = archive

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name in STORAGES:
            return StorageType(*STORAGES[name])
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return lambda tensor, *_: tensor
        raise _Unsafe(f"{module}.{name}")

    def persistent_load(self, saved_id: Any) -> Storage:
        if not (isinstance(saved_id, tuple) and len(saved_id) == 5 and saved_id[0] == "storage"):
            raise _Unsafe(f"persistent id {saved_id!r:.60}")
        _, kind, key, _location, elements = saved_id
        if not isinstance(kind, StorageType) or not isinstance(elements, int) or elements < 0:
            raise _Unsafe("a storage of an unknown type")
        return Storage(kind, str(key), elements)

    def _rebuild_tensor(self, storage: Storage, offset: int, shape: tuple, stride: tuple, *_: object) -> TensorInfo:
        if not isinstance(storage, Storage):
            raise _Unsafe("a tensor without a storage")
        return self.archive.tensor(storage, offset, shape, stride)
