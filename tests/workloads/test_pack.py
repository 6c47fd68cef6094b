"""compressionrun.pack and the unpack CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cogumi_workloads.packing import pack, unpack
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger

from .helpers import RunStage, run_cli


def make_model(root: Path, shards: int = 3) -> Path:
    """A fake HF-like model folder: JSON configs, a vocabulary and semi-structured binary shards."""
    rng = random.Random(0)
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"hidden_size": 64, "layers": 2, "vocab": 500}, indent=2))
    vocab = {f"tok{i}_{rng.choice('abcdef')}": i for i in range(3000)}
    (root / "tokenizer.json").write_text(json.dumps({"model": {"vocab": vocab}}))
    (root / "weights").mkdir()
    for i in range(shards):
        pattern = bytes(rng.randrange(16) for _ in range(4096))
        noise = rng.randbytes(20_000)
        (root / "weights" / f"shard-{i}.bin").write_bytes(pattern * 40 + noise)
    (root / "empty.txt").write_bytes(b"")
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _params(model: Path, dictionary_bytes: int = 8192) -> dict[str, object]:
    return {"model": {"uri": model.as_uri()}, "stages": ["pack"],
            "pack": {"level": 5, "dictionaryBytes": dictionary_bytes}}


def test_pack_stage_round_trip(run_stage: RunStage, tmp_path: Path) -> None:
    model = make_model(tmp_path / "model")
    res = run_stage("compressionrun.pack", _params(model))
    assert res.code == 0, res.stderr
    m = res.report["metrics"]
    original = _files(model)
    assert m["files"] == len(original) and m["unpackedBytes"] == sum(map(len, original.values()))
    assert m["verified"] == 1.0 and m["packedBytes"] < m["unpackedBytes"]
    assert m["ratio"] == pytest.approx(m["unpackedBytes"] / m["packedBytes"])
    assert m["dictionaryBytes"] > 0
    packed = tmp_path / "out" / "packed"
    assert (packed / "dictionary.zdict").stat().st_size == m["dictionaryBytes"]
    assert (packed / "weights" / "shard-0.bin.zst").is_file()
    manifest = json.loads((packed / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["path"] == "config.json")
    assert {"sha256", "bytes", "packedSha256", "packedBytes"} <= set(entry)
    assert res.report["artifacts"]["packed"]["bytes"] == m["packedBytes"]
    assert not any(p.name.startswith(".") for p in (tmp_path / "out").iterdir())

    dest = tmp_path / "restored"
    proc = run_cli("unpack", str(packed), str(dest))
    assert proc.returncode == 0, proc.stderr
    assert _files(dest) == original


def test_pack_prefers_the_gguf_input_and_single_files(run_stage: RunStage, tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 200)
    art = {"uri": gguf.as_uri()}
    res = run_stage("compressionrun.pack", _params(tmp_path / "not-there", 0), inputs={"gguf": art})
    assert res.code == 0, res.stderr
    assert res.report["metrics"]["files"] == 1 and res.report["metrics"]["dictionaryBytes"] == 0
    assert (tmp_path / "out" / "packed" / "model.gguf.zst").is_file()
    assert not (tmp_path / "out" / "packed" / "dictionary.zdict").exists()


def test_dictionary_falls_back_when_training_fails(tmp_path: Path) -> None:
    src = tmp_path / "tiny.txt"
    src.write_bytes(b"too little data to train a dictionary")
    result = pack(src, tmp_path / "packed", level=3, dict_bytes=65536, log=JsonLogger("test"))
    assert result.dictionary_bytes == 0 and result.files == 1
    files, total = unpack(tmp_path / "packed", tmp_path / "out", JsonLogger("test"))
    assert (files, total) == (1, src.stat().st_size)
    assert (tmp_path / "out" / "tiny.txt").read_bytes() == src.read_bytes()


def test_corrupted_zst_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", shards=1)
    packed = tmp_path / "packed"
    pack(model, packed, level=3, dict_bytes=4096, log=JsonLogger("test"))
    victim = packed / "weights" / "shard-0.bin.zst"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    dest = tmp_path / "restored"
    proc = run_cli("unpack", str(packed), str(dest))
    assert proc.returncode == 2
    assert "weights/shard-0.bin" in proc.stderr and "corrupt" in proc.stderr
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "packed"]


def test_unpack_checks_the_unpacked_digest(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", shards=1)
    packed = tmp_path / "packed"
    pack(model, packed, level=3, dict_bytes=0, log=JsonLogger("test"))
    manifest = json.loads((packed / "manifest.json").read_text())
    manifest["files"][0]["sha256"] = "f" * 64
    (packed / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PermanentError, match=manifest["files"][0]["path"]):
        unpack(packed, tmp_path / "restored", JsonLogger("test"))
    assert not (tmp_path / "restored").exists()


def test_unpack_refuses_a_folder_without_manifest(tmp_path: Path) -> None:
    proc = run_cli("unpack", str(tmp_path), str(tmp_path / "dest"))
    assert proc.returncode == 2 and "manifest.json" in proc.stderr
