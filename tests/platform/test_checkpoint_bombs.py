"""Uploaded checkpoints are never materialised in the web process: an archive whose entries would inflate past
MAX_CHECKPOINT_UNPACKED_BYTES (a zip bomb), a pickle naming a tensor larger than its storage, and an archive of more
than MAX_CHECKPOINT_TENSORS tensors are refused with the limit named and nothing stored; a large, honest checkpoint
registers without its tensors ever being allocated."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from registry.checkpoint_archive import ArchiveReader
from registry.models import ModelVersion
from tests.platform.builders import checkpoint_bytes
from tests.platform.factories import client_for, team_setup
from tests.platform.test_registry import register, stored_checkpoints

pytestmark = pytest.mark.django_db
CONFIG = {"model": {"query_size": [128, 128]}, "loss": {}, "data": {}, "train": {}}


def deflated(data: bytes) -> bytes:
    """The same archive with every entry deflated (torch.save stores them; an attacker compresses)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


def big_checkpoint(path: Path, megabytes: int) -> None:
    """A checkpoint with one zero tensor of `megabytes` MB, deflated to a few hundred KB: written by another
    process, so that this one never holds the tensor."""
    script = (
        "import io, sys, torch, zipfile\n"
        f"payload = {{'config': {CONFIG!r}, 'model': {{'w': torch.zeros({megabytes} * 2**18)}}}}\n"
        "raw = io.BytesIO(); torch.save(payload, raw); raw.seek(0)\n"
        "with zipfile.ZipFile(raw) as src, zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as out:\n"
        "    for info in src.infolist():\n"
        "        with src.open(info) as entry, out.open(info.filename, 'w', force_zip64=True) as dest:\n"
        "            while chunk := entry.read(1 << 20): dest.write(chunk)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)


def fresh_peak_rss_mb() -> float:
    """This process's resident memory now, after resetting its peak (Linux: clear_refs 5 resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The peak resident memory since the last reset."""
    return _status_mb("VmHWM")


def _status_mb(field: str) -> float:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1024


def test_a_zip_bomb_is_refused_by_its_declared_size_before_anything_is_inflated(settings, tmp_path) -> None:  # noqa: ANN001
    bomb = tmp_path / "bomb.pt"
    big_checkpoint(bomb, megabytes=256)
    data = bomb.read_bytes()
    assert len(data) < 2 * 2**20  # under 2 MB on the wire
    settings.MAX_CHECKPOINT_UNPACKED_BYTES = 128 * 2**20
    setup = team_setup()
    before = fresh_peak_rss_mb()
    response = register(client_for(setup.admin), setup.team.id, data)
    assert response.status_code == 413, response.json()
    detail = response.json()["detail"]
    assert "would unpack to 268,4" in detail and "MAX_CHECKPOINT_UNPACKED_BYTES" in detail
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []
    assert peak_rss_mb() - before < 100


def lying_pickle(path: Path, megabytes: int) -> None:
    """A checkpoint whose data.pkl declares 313 bytes (and the CRC of its first 313) but inflates to `megabytes` MB:
    the pickle is padded after its STOP opcode with zeros, deflated; written by another process."""
    script = (
        "import io, struct, sys, torch, zipfile, zlib\n"
        f"payload = {{'config': {CONFIG!r}, 'model': {{'w': torch.zeros(2)}}}}\n"
        "raw = io.BytesIO(); torch.save(payload, raw); raw.seek(0)\n"
        "out = io.BytesIO()\n"
        "with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as dst:\n"
        "    for info in src.infolist():\n"
        "        data = src.read(info)\n"
        "        if info.filename.endswith('data.pkl'):\n"
        "            head = data + bytes(313 - len(data))\n"
        f"            with dst.open(info.filename, 'w') as entry:\n"
        "                entry.write(head)\n"
        f"                for _ in range({megabytes}): entry.write(bytes(1 << 20))\n"
        "        else: dst.writestr(info.filename, data)\n"
        "blob = bytearray(out.getvalue())\n"
        "with zipfile.ZipFile(io.BytesIO(bytes(blob))) as z:\n"
        "    info = next(i for i in z.infolist() if i.filename.endswith('data.pkl'))\n"
        "crc = zlib.crc32(head)\n"
        "local = info.header_offset\n"
        "struct.pack_into('<I', blob, local + 14, crc); struct.pack_into('<I', blob, local + 22, 313)\n"
        "central = blob.find(b'PK\\x01\\x02')\n"
        "while struct.unpack_from('<I', blob, central + 42)[0] != local:\n"
        "    central = blob.find(b'PK\\x01\\x02', central + 4)\n"
        "struct.pack_into('<I', blob, central + 16, crc); struct.pack_into('<I', blob, central + 24, 313)\n"
        "open(sys.argv[1], 'wb').write(bytes(blob))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)


def test_an_entry_that_lies_about_its_size_is_never_inflated_past_what_it_declares(settings, tmp_path) -> None:  # noqa: ANN001
    liar = tmp_path / "liar.pt"
    lying_pickle(liar, megabytes=512)
    data = liar.read_bytes()
    assert len(data) < 2 * 2**20
    with zipfile.ZipFile(liar) as archive:
        assert sum(info.file_size for info in archive.infolist()) < 2000  # what it declares
    setup = team_setup()
    before = fresh_peak_rss_mb()
    response = register(client_for(setup.admin), setup.team.id, data)
    assert peak_rss_mb() - before < 100  # 512 MB never inflated here
    assert response.status_code == 400, response.json()
    assert "declares 313 bytes" in response.json()["detail"] and "lies about its size" in response.json()["detail"]
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []
    with ArchiveReader(liar) as archive:  # read past the size check, the pickle still stops at its declared size
        assert len(archive.read_entry(archive.prefix + "data.pkl")) == 313


def test_entries_compressed_by_a_method_that_cannot_be_inflated_in_steps_are_refused(settings) -> None:  # noqa: ANN001
    raw = io.BytesIO()
    torch.save({"config": CONFIG, "model": {"w": torch.zeros(4)}}, raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, out.getvalue())
    assert response.status_code == 400 and "zip method 12" in response.json()["detail"], response.json()
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []


def test_a_large_honest_checkpoint_registers_without_its_tensors_being_loaded(settings, tmp_path) -> None:  # noqa: ANN001
    big = tmp_path / "big.pt"
    big_checkpoint(big, megabytes=384)
    setup = team_setup()
    before = fresh_peak_rss_mb()
    response = register(client_for(setup.admin), setup.team.id, big.read_bytes())
    assert response.status_code == 201, response.json()
    assert peak_rss_mb() - before < 100  # 384 MB of tensor never allocated here
    assert torch.load(big, weights_only=True)["model"]["w"].numel() == 384 * 2**18  # torch reads the same file


def test_a_tensor_larger_than_its_storage_is_refused(settings, tmp_path) -> None:  # noqa: ANN001
    raw = io.BytesIO()
    torch.save({"config": CONFIG, "model": {"w": torch.zeros(4)}}, raw)
    # the pickle says the storage holds 4 float32 elements; make the tensor claim 2**30 of them (its shape is in
    # the pickle as BININT1 4 after the storage's persistent id)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source:
        names = source.namelist()
        pickle_name = next(name for name in names if name.endswith("data.pkl"))
        pickled = source.read(pickle_name)
        shape = b"K\x00K\x04\x85"  # offset 0, shape (4,)
        assert pickled.count(shape) == 1
        forged = pickled.replace(shape, b"K\x00J\x00\x00\x00\x40\x85")  # shape (2**30,)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for name in names:
                target.writestr(name, forged if name == pickle_name else source.read(name))
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, out.getvalue())
    assert response.status_code == 400 and "does not fit its storage" in response.json()["detail"]
    assert ModelVersion.objects.count() == 0


def test_too_many_tensors_are_refused_naming_the_limit(settings) -> None:  # noqa: ANN001
    settings.MAX_CHECKPOINT_TENSORS = 50
    raw = io.BytesIO()
    torch.save({"config": CONFIG, "model": {f"w{i}": torch.zeros(1) for i in range(51)}}, raw)
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, raw.getvalue())
    assert response.status_code == 413 and "more than 50 tensors (MAX_CHECKPOINT_TENSORS)" in response.json()["detail"]
    assert ModelVersion.objects.count() == 0


def test_the_reader_sees_what_torch_load_sees(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "model.pt"
    path.write_bytes(deflated(checkpoint_bytes(metrics={"acc@0.5": torch.tensor(0.25), "n": torch.tensor(7)})))
    loaded = torch.load(path, weights_only=True)
    with ArchiveReader(path) as archive:
        payload = archive.load()
        assert payload["config"] == loaded["config"]
        tensor = payload["model"]["head.weight"]
        assert (tensor.dtype, tensor.shape) == ("float32", tuple(loaded["model"]["head.weight"].shape))
        assert payload["metrics"]["acc@0.5"].item() == 0.25 and payload["metrics"]["n"].item() == 7


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def laughs(levels: int) -> list:
    """A list of ten references to the previous level, `levels` times: a few bytes of pickle, 10**levels values."""
    value: list = ["lol"]
    for _ in range(levels):
        value = [value] * 10
    return value


@pytest.mark.parametrize(
    ("config_change", "named"),
    [
        ({"extra": nested(5000)}, "nests deeper than 16 levels"),
        ({"extra": laughs(6)}, "more than 20,000 values"),
        ({"model": {"query_size": 20000}}, "model.query_size must be a number from 16 to 2048"),
        ({"model": {"query_size": [128, 0]}}, "model.query_size must be"),
        ({"model": {"reference_size": "big"}}, "model.reference_size must be"),
        ({"data": {"reference_extent_m": -5}}, "data.reference_extent_m must be"),
    ],
    ids=["deep", "shared-lists", "huge-query", "zero-query", "text-reference", "negative-extent"],
)
def test_a_config_too_deep_too_large_or_out_of_bounds_is_refused_naming_why(settings, config_change, named) -> None:  # noqa: ANN001
    config = {"model": {"query_size": [128, 128], "reference_size": 256}, "loss": {}, "data": {}, "train": {}}
    for section, value in config_change.items():
        config[section] = {**config[section], **value} if isinstance(value, dict) else value
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # torch.save recurses once per level; an attacker writes the pickle by hand
    try:
        data = checkpoint_bytes(config=config)
    finally:
        sys.setrecursionlimit(limit)
    setup = team_setup()
    response = register(client_for(setup.admin), setup.team.id, data)
    assert response.status_code == 400, response.json()
    assert named in response.json()["detail"], response.json()
    assert ModelVersion.objects.count() == 0 and stored_checkpoints(settings) == []
